// The Reveal tab: an image and an optional password in, the hidden message or file out.

import { call, describe, filenameOf, STEGO_TIMEOUT_MS } from "./api";
import { formatBytes } from "./format";
import { acceptDrops, byId, linkBlob, say } from "./dom";

const el = {
  form: byId("reveal-form", HTMLFormElement),
  file: byId("reveal-file", HTMLInputElement),
  password: byId("reveal-password", HTMLInputElement),
  submit: byId("reveal-submit", HTMLButtonElement),
  status: byId("reveal-status", HTMLElement),
  textResult: byId("reveal-result", HTMLElement),
  text: byId("reveal-text", HTMLElement),
  fileResult: byId("reveal-file-result", HTMLElement),
  download: byId("reveal-download", HTMLAnchorElement),
};

/** What the server names a hidden text message (not a hidden file that happens to be text). */
const MESSAGE_NAME = "message.txt";
const MESSAGE_TYPE = "text/plain; charset=utf-8";

export function setUpReveal(): void {
  const dropZone = el.file.closest<HTMLElement>(".drop");
  if (dropZone) acceptDrops(dropZone, el.file);
  el.file.addEventListener("change", clearResult);
  el.form.addEventListener("submit", (event) => {
    event.preventDefault();
    void reveal();
  });
}

function clearResult(): void {
  el.textResult.hidden = true;
  el.fileResult.hidden = true;
  say(el.status, "");
}

async function reveal(): Promise<void> {
  const image = el.file.files?.[0];
  if (!image) {
    say(el.status, "Choose an image first.", true);
    return;
  }
  const form = new FormData();
  form.append("file", image);
  if (el.password.value) form.append("password", el.password.value);
  clearResult();
  el.submit.disabled = true;
  say(el.status, "Looking for hidden data…");
  try {
    const response = await call("/api/v1/extract", { method: "POST", body: form }, STEGO_TIMEOUT_MS);
    await showPayload(response);
  } catch (err) {
    say(el.status, describe(err), true);
  } finally {
    el.submit.disabled = false;
  }
}

async function showPayload(response: Response): Promise<void> {
  const filename = filenameOf(response, "hidden.bin");
  const type = (response.headers.get("Content-Type") ?? "").toLowerCase().replace(/\s+/g, " ");
  if (filename === MESSAGE_NAME && type === MESSAGE_TYPE) {
    el.text.textContent = await response.text();
    el.textResult.hidden = false;
    say(el.status, "Found a hidden message.");
    return;
  }
  const payload = await response.blob();
  linkBlob(el.download, payload, filename);
  el.download.textContent = `Download ${filename} (${formatBytes(payload.size)})`;
  el.fileResult.hidden = false;
  say(el.status, `Found a hidden file: ${filename}, ${formatBytes(payload.size)}.`);
}
