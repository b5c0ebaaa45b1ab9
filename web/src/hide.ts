// The Hide tab: a cover (uploaded, from the library or the server's default), a message or a file,
// an optional password and depth, a live capacity meter, and the result with its difference view.

import { call, describe, filenameOf, STATUS_TIMEOUT_MS, STEGO_TIMEOUT_MS } from "./api";
import { type Cover, coverImageUrl, coverName } from "./covers";
import { formatBytes, formatCount } from "./format";
import { drawDifference } from "./diff";
import { acceptDrops, byId, linkBlob, say, showBlob, showUrl } from "./dom";

interface Capacity {
  cover_info: { capacity_bytes: number; width: number; height: number; lsb_per_channel: number };
  capacity_bytes_with_password: number;
  capacity_bytes_by_lsb: Record<string, number>;
}

const el = {
  form: byId("hide-form", HTMLFormElement),
  cover: byId("hide-cover", HTMLInputElement),
  coverName: byId("hide-cover-name", HTMLElement),
  coverDefault: byId("hide-cover-default", HTMLButtonElement),
  coverPreview: byId("hide-cover-preview", HTMLImageElement),
  kindMessage: byId("hide-kind-message", HTMLInputElement),
  kindFile: byId("hide-kind-file", HTMLInputElement),
  messageField: byId("hide-message-field", HTMLElement),
  message: byId("hide-message", HTMLTextAreaElement),
  fileField: byId("hide-file-field", HTMLElement),
  file: byId("hide-file", HTMLInputElement),
  password: byId("hide-password", HTMLInputElement),
  lsb: byId("hide-lsb", HTMLSelectElement),
  meter: byId("hide-meter", HTMLMeterElement),
  capacity: byId("hide-capacity", HTMLElement),
  submit: byId("hide-submit", HTMLButtonElement),
  status: byId("hide-status", HTMLElement),
  result: byId("hide-result", HTMLElement),
  resultCover: byId("hide-result-cover", HTMLElement),
  resultCoverImg: byId("hide-result-cover-img", HTMLImageElement),
  resultImg: byId("hide-result-img", HTMLImageElement),
  resultDiff: byId("hide-result-diff", HTMLElement),
  diff: byId("hide-diff", HTMLCanvasElement),
  diffNote: byId("hide-diff-note", HTMLElement),
  download: byId("hide-download", HTMLAnchorElement),
};

/**
 * A library cover chosen in the Library tab, and its bytes once fetched. Embed gets its id; the
 * capacity meter and the difference view need the bytes (the listing's room is for 1 bit per
 * channel only, and the room at another depth is not a multiple of it: whole pixel groups, the
 * header, a password's tag).
 */
interface LibraryChoice {
  cover: Cover;
  image: Blob | null;
}

let library: LibraryChoice | null = null;
let capacity: Capacity | null = null;
/** Cancels the capacity request in flight when the cover or the depth changes again. */
let capacityRequest = new AbortController();
const utf8 = new TextEncoder();

export function setUpHide(): void {
  const dropZone = el.cover.closest<HTMLElement>(".drop");
  if (dropZone) acceptDrops(dropZone, el.cover);
  el.cover.addEventListener("change", onCoverChange);
  el.coverDefault.addEventListener("click", () => {
    el.cover.value = "";
    onCoverChange();
    el.cover.focus();
  });
  for (const radio of [el.kindMessage, el.kindFile]) radio.addEventListener("change", onKindChange);
  el.lsb.addEventListener("change", () => void refreshCapacity());
  for (const input of [el.message, el.file, el.password]) input.addEventListener("input", updateMeter);
  el.file.addEventListener("change", updateMeter);
  el.form.addEventListener("submit", (event) => {
    event.preventDefault();
    void hide();
  });
  void refreshCapacity();
}

function chosenCover(): File | null {
  return el.cover.files?.[0] ?? null;
}

/** Hides the next message in a library cover (the Library tab's "Use as cover"). */
export function useLibraryCover(cover: Cover): void {
  el.cover.value = "";
  library = { cover, image: null };
  showCoverChoice();
  void refreshCapacity();
}

function onCoverChange(): void {
  // A chosen file, or the default cover, replaces a library cover.
  library = null;
  showCoverChoice();
  void refreshCapacity();
}

function showCoverChoice(): void {
  const file = chosenCover();
  el.coverDefault.hidden = !file && !library;
  el.coverPreview.hidden = !file && !library;
  if (file) {
    el.coverName.textContent = `Cover: ${file.name} (${formatBytes(file.size)}).`;
    showBlob(el.coverPreview, file);
  } else if (library) {
    const { cover } = library;
    el.coverName.textContent = `Library cover: ${coverName(cover)} (${formatCount(cover.width)} × ${formatCount(cover.height)} px).`;
    showUrl(el.coverPreview, coverImageUrl(cover));
  } else {
    el.coverName.textContent = "Using the server's default cover.";
  }
}

/**
 * The chosen cover's bytes, or null for the server's default. A library cover's are fetched once,
 * from the browser's cache as a rule: its thumbnail has the same immutable address.
 */
async function coverBytes(cancel: AbortSignal): Promise<Blob | null> {
  const file = chosenCover();
  if (file || !library) return file;
  const choice = library;
  if (!choice.image) {
    const response = await call(coverImageUrl(choice.cover), { cache: "default" }, STEGO_TIMEOUT_MS, cancel);
    choice.image = await response.blob();
  }
  return choice.image;
}

function onKindChange(): void {
  const isFile = el.kindFile.checked;
  el.fileField.hidden = !isFile;
  el.messageField.hidden = isFile;
  updateMeter();
}

async function refreshCapacity(): Promise<void> {
  capacityRequest.abort();
  capacityRequest = new AbortController();
  const cancel = capacityRequest.signal;
  capacity = null;
  say(el.capacity, "Working out the room in the cover…");
  try {
    const form = new FormData();
    const cover = await coverBytes(cancel);
    if (cover) form.append("cover", cover);
    if (el.lsb.value) form.append("lsb_bits", el.lsb.value);
    const response = await call("/api/v1/capacity", { method: "POST", body: form }, STATUS_TIMEOUT_MS, cancel);
    capacity = (await response.json()) as Capacity;
    updateMeter();
  } catch (err) {
    if (cancel.aborted) return;
    say(el.capacity, `Cannot tell the room in this cover: ${describe(err)}`, true);
    el.submit.disabled = false;
  }
}

/** Bytes the secret takes before compression, as the meter counts them. */
function usedBytes(): number {
  if (el.kindFile.checked) return el.file.files?.[0]?.size ?? 0;
  return utf8.encode(el.message.value).length;
}

function availableBytes(c: Capacity): number {
  if (el.password.value) return c.capacity_bytes_with_password;
  return (el.lsb.value && c.capacity_bytes_by_lsb[el.lsb.value]) || c.cover_info.capacity_bytes;
}

function updateMeter(): void {
  if (!capacity) return;
  const used = usedBytes();
  const available = availableBytes(capacity);
  el.meter.max = Math.max(available, 1);
  el.meter.value = Math.min(used, available);
  // Nearly full shows as a warning colour (optimum is 0 in index.html: less used is better).
  el.meter.high = available * 0.9;
  const over = used > available;
  const summary = `${formatCount(used)} bytes used of ${formatCount(available)} available`;
  say(el.capacity, over ? `${summary}: too much for this cover.` : `${summary}.`, over);
  el.submit.disabled = over;
}

function embedForm(): FormData | null {
  const form = new FormData();
  const cover = chosenCover();
  if (cover) form.append("cover", cover);
  else if (library) form.append("cover_id", library.cover.id);
  if (el.kindFile.checked) {
    const file = el.file.files?.[0];
    if (!file) return null;
    form.append("file", file);
  } else {
    if (!el.message.value) return null;
    form.append("message", el.message.value);
  }
  if (el.password.value) form.append("password", el.password.value);
  if (el.lsb.value) form.append("lsb_bits", el.lsb.value);
  return form;
}

async function hide(): Promise<void> {
  const form = embedForm();
  if (!form) {
    say(el.status, el.kindFile.checked ? "Choose a file to hide first." : "Type a message to hide first.", true);
    return;
  }
  const cover = coverToCompare();
  el.submit.disabled = true;
  say(el.status, "Hiding…");
  try {
    const response = await call("/api/v1/embed", { method: "POST", body: form }, STEGO_TIMEOUT_MS);
    const stego = await response.blob();
    const filename = filenameOf(response, "stego.png");
    const member = response.headers.get("X-Stego-Member");
    await showResult(cover, stego, filename);
    say(el.status, `Done: ${filename} (${formatBytes(stego.size)})` + (member ? `, made by ${member}.` : "."));
  } catch (err) {
    say(el.status, describe(err), true);
  } finally {
    el.submit.disabled = false;
    updateMeter();
  }
}

/** The cover's bytes, to compare the result with, or why this page has none. */
function coverToCompare(): Blob | string {
  const file = chosenCover();
  if (file) return file;
  if (library) return library.image ?? "No difference view: the library cover's image had not reached this page.";
  return "No difference view: the server's default cover was used, and this page does not have it.";
}

async function showResult(cover: Blob | string, stego: Blob, filename: string): Promise<void> {
  el.result.hidden = false;
  showBlob(el.resultImg, stego);
  linkBlob(el.download, stego, filename);
  el.download.textContent = `Download ${filename}`;
  el.resultCover.hidden = typeof cover === "string";
  el.resultDiff.hidden = true;
  if (typeof cover === "string") {
    el.diffNote.textContent = cover;
    return;
  }
  showBlob(el.resultCoverImg, cover);
  el.diffNote.textContent = "Drawing the difference…";
  const difference = await drawDifference(el.diff, cover, stego);
  el.resultDiff.hidden = !difference.drawn;
  el.diffNote.textContent = difference.note;
}
