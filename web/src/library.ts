// The Library tab: the cluster's replicated cover library (add, list, use one in Hide, delete with
// the admin key) and the cluster-wide ledger of the newest stego jobs. Both are read with
// ?consistent=true, so what any member acknowledged before the read is in the answer.

import { adminFailure, adminHeaders } from "./admin";
import { call, describe, newRequestKey, STATUS_TIMEOUT_MS, STEGO_TIMEOUT_MS } from "./api";
import { type Cover, coverImageUrl, coverName } from "./covers";
import { acceptDrops, byId, confirmation, say } from "./dom";
import { formatBytes, formatCount, formatTime } from "./format";

/** A stego job of the ledger, as GET /api/v1/jobs lists it. */
interface Job {
  id: string;
  kind: string;
  member: string;
  /** Milliseconds since the epoch, by that member's clock. */
  started_at: number;
  duration_ms: number;
  input_bytes: number;
  output_bytes: number;
  status: "ok" | "error";
  http_status: number;
  error?: string;
}

const JOB_LIMIT = 50;

const el = {
  coversHeading: byId("covers-heading", HTMLElement),
  uploadForm: byId("cover-upload-form", HTMLFormElement),
  file: byId("cover-upload-file", HTMLInputElement),
  coverStatus: byId("cover-status", HTMLElement),
  list: byId("cover-list", HTMLUListElement),
  empty: byId("covers-empty", HTMLElement),
  dialog: byId("cover-delete-dialog", HTMLDialogElement),
  deleteText: byId("cover-delete-text", HTMLElement),
  deleteCancel: byId("cover-delete-cancel", HTMLButtonElement),
  deleteConfirm: byId("cover-delete-confirm", HTMLButtonElement),
  jobsRefresh: byId("jobs-refresh", HTMLButtonElement),
  jobsBody: byId("jobs-table", HTMLTableElement).tBodies[0]!,
  jobsStatus: byId("jobs-status", HTMLElement),
};

let onUse: (cover: Cover) => void = () => {};
const confirmDelete = confirmation(el.dialog, el.deleteCancel, el.deleteConfirm);
/** A newer listing cancels the one in flight, so an older answer never replaces a newer one. */
let coversRequest = new AbortController();
let jobsRequest = new AbortController();

/** `use` is what "Use as cover" does: main.ts hands the cover to the Hide tab and shows it. */
export function setUpLibrary(use: (cover: Cover) => void): void {
  onUse = use;
  const dropZone = el.file.closest<HTMLElement>(".drop");
  if (dropZone) acceptDrops(dropZone, el.file);
  // A chosen (or dropped) image is added at once: there is nothing else to fill in.
  el.file.addEventListener("change", () => void upload());
  el.uploadForm.addEventListener("submit", (event) => event.preventDefault());
  el.jobsRefresh.addEventListener("click", () => void refreshJobs());
}

/** Called when the tab is selected or left: both lists are read again each time it is shown. */
export function showLibrary(isSelected: boolean): void {
  if (!isSelected) return;
  void refreshCovers();
  void refreshJobs();
}

async function upload(): Promise<void> {
  const file = el.file.files?.[0];
  if (!file) return;
  const form = new FormData();
  form.append("file", file);
  say(el.coverStatus, `Adding ${file.name} to the library…`);
  try {
    // The key makes a retried upload (a timeout, a lost answer) take effect once.
    const init: RequestInit = { method: "POST", body: form, headers: { "Idempotency-Key": newRequestKey() } };
    const response = await call("/api/v1/covers", init, STEGO_TIMEOUT_MS);
    const cover = (await response.json()) as Cover;
    // 200: these very bytes were there already, under the name they were first given.
    say(el.coverStatus, response.status === 201 ? `Added ${coverName(cover)} to the library.` : `This image is already in the library, as ${coverName(cover)}.`);
    await refreshCovers();
  } catch (err) {
    say(el.coverStatus, describe(err), true);
  } finally {
    // So that the same file chosen again is a change, and uploads again.
    el.file.value = "";
  }
}

async function refreshCovers(): Promise<void> {
  coversRequest.abort();
  coversRequest = new AbortController();
  const cancel = coversRequest.signal;
  try {
    const response = await call("/api/v1/covers?consistent=true", {}, STATUS_TIMEOUT_MS, cancel);
    const { covers } = (await response.json()) as { covers: Cover[] };
    // The API lists the oldest first; the newest (the one just added) is wanted at the top.
    el.list.replaceChildren(...covers.reverse().map(coverCard));
    el.empty.hidden = covers.length > 0;
  } catch (err) {
    if (cancel.aborted) return;
    say(el.coverStatus, `Cannot list the library: ${describe(err)}`, true);
  }
}

function coverCard(cover: Cover): HTMLLIElement {
  const name = coverName(cover);
  const card = document.createElement("li");
  card.className = "cover";
  card.dataset["cover"] = cover.id;
  const title = document.createElement("h3");
  title.textContent = name;
  const facts = document.createElement("dl");
  fact(facts, "Size", `${formatBytes(cover.size_bytes)}, ${cover.format.toUpperCase()}`);
  fact(facts, "Dimensions", `${formatCount(cover.width)} × ${formatCount(cover.height)} px`);
  // The listing's figure is for 1 bit per channel; Hide works out the exact room for the depth chosen.
  fact(facts, "Room", `${formatCount(cover.capacity_bytes)} bytes at 1 bit per channel`);
  const buttons = document.createElement("p");
  buttons.className = "cover-actions";
  const deleteButton = button("Delete", `Delete ${name}`, () => void askDelete(cover));
  deleteButton.classList.add("delete");
  buttons.append(button("Use as cover", `Use as cover: ${name}`, () => onUse(cover)), deleteButton);
  card.append(thumbnail(cover, name), title, facts, buttons);
  return card;
}

function thumbnail(cover: Cover, name: string): HTMLImageElement {
  const img = document.createElement("img");
  // Lazy: a library of hundreds of covers loads only the thumbnails scrolled into view.
  img.loading = "lazy";
  img.decoding = "async";
  img.alt = `Thumbnail of ${name}`;
  // The real size reserves the card's space before the image arrives (the CSS scales it down).
  img.width = cover.width;
  img.height = cover.height;
  img.src = coverImageUrl(cover);
  return img;
}

function fact(list: HTMLDListElement, term: string, value: string): void {
  const row = document.createElement("div");
  const dt = document.createElement("dt");
  dt.textContent = term;
  const dd = document.createElement("dd");
  dd.textContent = value;
  row.append(dt, dd);
  list.append(row);
}

function button(text: string, label: string, onClick: () => void): HTMLButtonElement {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  // The visible words first, so that a voice command saying them still finds the button.
  b.setAttribute("aria-label", label);
  b.addEventListener("click", onClick);
  return b;
}

async function askDelete(cover: Cover): Promise<void> {
  el.deleteText.textContent = `${coverName(cover)} leaves the library on every member. Images already made with it keep their hidden data.`;
  if (await confirmDelete()) await remove(cover);
}

async function remove(cover: Cover): Promise<void> {
  const name = coverName(cover);
  say(el.coverStatus, `Deleting ${name}…`);
  try {
    await call(`/api/v1/covers/${encodeURIComponent(cover.id)}`, { method: "DELETE", headers: adminHeaders(false) }, STATUS_TIMEOUT_MS);
    say(el.coverStatus, `Deleted ${name} from the library.`);
    await refreshCovers();
    // Its card, and the button that had the focus, are gone: the focus goes to the list's heading.
    el.coversHeading.focus();
  } catch (err) {
    say(el.coverStatus, adminFailure(err), true);
  }
}

async function refreshJobs(): Promise<void> {
  jobsRequest.abort();
  jobsRequest = new AbortController();
  const cancel = jobsRequest.signal;
  try {
    const response = await call(`/api/v1/jobs?limit=${JOB_LIMIT}&consistent=true`, {}, STATUS_TIMEOUT_MS, cancel);
    const { jobs } = (await response.json()) as { jobs: Job[] };
    el.jobsBody.replaceChildren(...jobs.map(jobRow));
    const asOf = new Date().toLocaleTimeString("en-GB");
    say(el.jobsStatus, jobs.length ? `${formatCount(jobs.length)} ${jobs.length === 1 ? "job" : "jobs"}, as of ${asOf}.` : `No jobs yet, as of ${asOf}.`);
  } catch (err) {
    if (cancel.aborted) return;
    say(el.jobsStatus, `Cannot list the jobs: ${describe(err)}`, true);
  }
}

function jobRow(job: Job): HTMLTableRowElement {
  const tr = document.createElement("tr");
  tr.dataset["job"] = job.id;
  const started = document.createElement("th");
  started.scope = "row";
  started.dataset["label"] = "Started";
  const time = document.createElement("time");
  time.dateTime = new Date(job.started_at).toISOString();
  time.textContent = formatTime(job.started_at);
  started.append(time);
  tr.append(started);
  const cell = (label: string, text: string) => {
    const td = document.createElement("td");
    td.dataset["label"] = label;
    td.textContent = text;
    tr.append(td);
    return td;
  };
  cell("Kind", job.kind);
  cell("Member", job.member);
  cell("Duration", `${formatCount(job.duration_ms)} ms`);
  cell("In", formatBytes(job.input_bytes));
  cell("Out", formatBytes(job.output_bytes));
  const result = cell("Result", job.status === "ok" ? "ok" : `error ${job.http_status}${job.error ? `: ${job.error}` : ""}`);
  result.className = job.status === "ok" ? "ok" : "failed";
  return tr;
}
