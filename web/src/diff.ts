// The "amplified difference" view: where the hidden bits changed the cover, made visible.

import { formatCount } from "./format";

/** How much each channel's difference is multiplied: 1-bit changes become 64 of 255. */
const GAIN = 64;

export interface Difference {
  drawn: boolean;
  /** What the view shows, or why there is none. */
  note: string;
}

/**
 * Draws |cover - stego| × GAIN per colour channel into the canvas. It cannot when the browser
 * does not decode the cover (TIFF) or the sizes differ.
 */
export async function drawDifference(canvas: HTMLCanvasElement, cover: Blob, stego: Blob): Promise<Difference> {
  let a: ImageData;
  let b: ImageData;
  try {
    [a, b] = await Promise.all([pixelsOf(cover), pixelsOf(stego)]);
  } catch {
    return { drawn: false, note: "This browser cannot decode the cover, so there is no difference view." };
  }
  if (a.width !== b.width || a.height !== b.height) {
    return { drawn: false, note: "The cover and the result differ in size, so there is no difference view." };
  }
  const context = canvas.getContext("2d");
  if (!context) return { drawn: false, note: "This browser cannot draw the difference view." };
  canvas.width = a.width;
  canvas.height = a.height;
  const { image, changed } = amplified(a, b);
  context.putImageData(image, 0, 0);
  const total = a.width * a.height;
  // A short message changes a few dozen pixels: the count says what a mostly black view means.
  return {
    drawn: true,
    note: `Black where a pixel is unchanged: the hidden data changed ${formatCount(changed)} of ${formatCount(total)} pixels.`,
  };
}

function amplified(a: ImageData, b: ImageData): { image: ImageData; changed: number } {
  const image = new ImageData(a.width, a.height);
  const [pa, pb, po] = [a.data, b.data, image.data];
  let changed = 0;
  for (let i = 0; i < po.length; i += 4) {
    let any = 0;
    for (let c = 0; c < 3; c++) {
      const d = Math.abs(pa[i + c]! - pb[i + c]!);
      po[i + c] = Math.min(255, d * GAIN);
      any |= d;
    }
    po[i + 3] = 255;
    if (any) changed++;
  }
  return { image, changed };
}

async function pixelsOf(blob: Blob): Promise<ImageData> {
  // Colour management would shift the values of a cover with an ICC profile, and premultiplied
  // alpha those of a transparent one; both would show as differences the hiding did not make.
  const bitmap = await createImageBitmap(blob, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
  const canvas = document.createElement("canvas");
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  if (!context) throw new Error("no 2d context");
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  return context.getImageData(0, 0, canvas.width, canvas.height);
}
