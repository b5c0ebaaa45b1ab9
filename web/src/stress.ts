// The Stress test tab: a bounded load from this browser on the page's own member (stressrun.ts),
// watched live (redrawn at most four times a second) and summed up at the end, each request of the
// run downloadable as JSON and as CSV.

import { describe } from "./api";
import { BarList, LineChart } from "./charts";
import { byId, linkBlob, say } from "./dom";
import { formatCount, formatDecimal, formatShare } from "./format";
import { bySecond, PERCENTILES, type Summary, summarize, toCsv } from "./stats";
import { makeSample, type Mode, StressRun, type StressSettings } from "./stressrun";

const REDRAW_MS = 250;

/** A number field with bounds (its own min and max attributes) and a message beside it. */
interface BoundedField {
  input: HTMLInputElement;
  error: HTMLElement;
}

const el = {
  form: byId("stress-form", HTMLFormElement),
  modes: Array.from(document.querySelectorAll<HTMLInputElement>('input[name="stress-mode"]')),
  byCount: byId("stress-limit-count", HTMLInputElement),
  byTime: byId("stress-limit-duration", HTMLInputElement),
  countField: byId("stress-count-field", HTMLElement),
  durationField: byId("stress-duration-field", HTMLElement),
  start: byId("stress-start", HTMLButtonElement),
  stop: byId("stress-stop", HTMLButtonElement),
  status: byId("stress-status", HTMLElement),
  live: byId("stress-live", HTMLElement),
  progress: byId("stress-progress", HTMLProgressElement),
  progressText: byId("stress-progress-text", HTMLElement),
  errors: byId("stress-errors", HTMLElement),
  result: byId("stress-result", HTMLElement),
  resultHeading: byId("stress-result-heading", HTMLElement),
  summary: byId("stress-summary", HTMLTableElement).tBodies[0]!,
  members: byId("stress-member-table", HTMLTableElement).tBodies[0]!,
  errorTable: byId("stress-error-table", HTMLTableElement),
  downloadJson: byId("stress-download-json", HTMLAnchorElement),
  downloadCsv: byId("stress-download-csv", HTMLAnchorElement),
};

const field = (id: string): BoundedField => ({ input: byId(id, HTMLInputElement), error: byId(`${id}-error`, HTMLElement) });
const fields = {
  clients: field("stress-clients"),
  payload: field("stress-payload"),
  count: field("stress-count"),
  seconds: field("stress-duration"),
};

const throughputChart = new LineChart(byId("stress-throughput", HTMLElement), {
  name: "Requests answered per second of the run",
  unit: "requests/s",
  time: false,
});
const latencyChart = new LineChart(byId("stress-latency", HTMLElement), {
  name: "Latency per second of the run: p50, p95 and p99, in ms",
  unit: "ms",
  time: false,
});
const memberBars = new BarList(byId("stress-members", HTMLElement));

/** The run under way (one at a time), and the preparation before it (Stop cancels either). */
let running: StressRun | null = null;
let preparing: AbortController | null = null;

export function setUpStress(): void {
  for (const radio of [el.byCount, el.byTime]) radio.addEventListener("change", onLimitChange);
  for (const { input } of Object.values(fields)) input.addEventListener("input", () => clearError(input));
  el.form.addEventListener("submit", (event) => {
    event.preventDefault();
    void start();
  });
  el.stop.addEventListener("click", () => {
    preparing?.abort();
    running?.end();
  });
}

function onLimitChange(): void {
  el.countField.hidden = !el.byCount.checked;
  el.durationField.hidden = !el.byTime.checked;
}

/** The field's whole number within its bounds, or null with the reason shown beside it. */
function valueOf({ input, error }: BoundedField): number | null {
  const min = Number(input.min);
  const max = Number(input.max);
  const value = Number(input.value.trim());
  if (input.value.trim() !== "" && Number.isInteger(value) && value >= min && value <= max) return value;
  error.textContent = `Enter a whole number from ${formatCount(min)} to ${formatCount(max)}.`;
  input.setAttribute("aria-invalid", "true");
  return null;
}

function clearError(input: HTMLInputElement): void {
  input.removeAttribute("aria-invalid");
  byId(`${input.id}-error`, HTMLElement).textContent = "";
}

/** The form's settings, or null (the first field out of bounds focused) when one is. */
function readSettings(): StressSettings | null {
  const limitField = el.byCount.checked ? fields.count : fields.seconds;
  const checked = [fields.clients, limitField, fields.payload];
  const values = checked.map(valueOf);
  const bad = values.findIndex((v) => v === null);
  if (bad >= 0) {
    checked[bad]!.input.focus();
    return null;
  }
  const [clients, limit, payloadBytes] = values as [number, number, number];
  const mode = (el.modes.find((radio) => radio.checked)?.value ?? "embed") as Mode;
  return { mode, clients, payloadBytes, limit: el.byCount.checked ? { requests: limit } : { seconds: limit } };
}

function describeSettings(s: StressSettings): string {
  const limit = "requests" in s.limit ? `${formatCount(s.limit.requests)} requests` : `${formatCount(s.limit.seconds)} s`;
  const clients = `${formatCount(s.clients)} ${s.clients === 1 ? "client" : "clients"}`;
  return s.mode === "extract" ? `extract, ${clients}, ${limit}` : `${s.mode}, ${clients}, ${limit}, ${formatCount(s.payloadBytes)}-byte messages`;
}

async function start(): Promise<void> {
  if (running || preparing) return;
  const settings = readSettings();
  if (!settings) return;
  el.start.disabled = true;
  el.stop.disabled = false;
  let run: StressRun;
  try {
    preparing = new AbortController();
    let sample: Blob | null = null;
    if (settings.mode !== "embed") {
      say(el.status, "Making the image the extracts will read…");
      sample = await makeSample(settings.payloadBytes, preparing.signal);
    }
    run = running = new StressRun(settings, sample);
  } catch (err) {
    say(el.status, preparing?.signal.aborted ? "Stopped before the run began." : `Cannot start: ${describe(err)}`, !preparing?.signal.aborted);
    finish();
    return;
  } finally {
    preparing = null;
  }
  say(el.status, `Started: ${describeSettings(settings)}.`);
  el.live.hidden = false;
  el.result.hidden = true;
  const timer = window.setInterval(() => redraw(run, false), REDRAW_MS);
  try {
    await run.run();
  } finally {
    clearInterval(timer);
  }
  const summary = summarize(run.records, run.durationMs ?? run.elapsedMs());
  redraw(run, true);
  showSummary(run, summary);
  say(el.status, finishedWords(run, summary));
  // finish() disables Stop (and Start was disabled while the run went on): the focus they had
  // would fall to the page's start, so it goes to the summary instead.
  const focused = document.activeElement;
  finish();
  if (focused === el.stop || focused === document.body) el.resultHeading.focus();
}

function finish(): void {
  running = null;
  el.start.disabled = false;
  el.stop.disabled = true;
}

function finishedWords(run: StressRun, s: Summary): string {
  const head = run.stopped ? "Stopped" : "Finished";
  const errors = s.errors ? `${formatCount(s.errors)} failed` : "none failed";
  const abandoned = run.startedCount - run.records.length;
  const inFlight = abandoned > 0 ? `; ${formatCount(abandoned)} in flight abandoned` : "";
  const rate = `${formatDecimal(s.throughput)} a second`;
  return `${head}: ${formatCount(s.requests)} requests in ${formatSeconds(s.durationMs)}, ${rate}, ${errors}${inFlight}.`;
}

function formatSeconds(ms: number): string {
  return `${formatDecimal(ms / 1000)} s`;
}

function formatMs(ms: number | null): string {
  return ms === null ? "—" : `${formatDecimal(ms)} ms`;
}

/** A request's member as the page shows it ("" is a request no answer named a member for). */
function memberName(member: string): string {
  return member || "none named";
}

function redraw(run: StressRun, final: boolean): void {
  const elapsed = final ? (run.durationMs ?? run.elapsedMs()) : run.elapsedMs();
  const { limit } = run.settings;
  const answered = run.records.length;
  if ("requests" in limit) {
    el.progress.max = limit.requests;
    el.progress.value = answered;
    el.progressText.textContent = `${formatCount(answered)} of ${formatCount(limit.requests)} requests answered, ${formatSeconds(elapsed)}.`;
  } else {
    el.progress.max = limit.seconds;
    el.progress.value = Math.min(elapsed / 1000, limit.seconds);
    const time = `${formatSeconds(Math.min(elapsed, limit.seconds * 1000))} of ${formatCount(limit.seconds)} s`;
    el.progressText.textContent = `${time}, ${formatCount(answered)} requests answered.`;
  }
  const seconds = bySecond(run.records, elapsed, final);
  const x = seconds.map((s) => s.end);
  throughputChart.show(["throughput"], x, [seconds.map((s) => s.rate)]);
  latencyChart.show(["p50", "p95", "p99"], x, [seconds.map((s) => s.p50), seconds.map((s) => s.p95), seconds.map((s) => s.p99)]);
  const summary = summarize(run.records, elapsed);
  memberBars.show(summary.members.map(({ member, count }) => ({ label: memberName(member), count })));
  const errors = summary.errorKinds.map(({ kind, count }) => `${kind}: ${formatCount(count)}`);
  el.errors.replaceChildren(...(errors.length ? errors : ["None."]).map((text) => {
    const item = document.createElement("li");
    item.textContent = text;
    return item;
  }));
}

function showSummary(run: StressRun, s: Summary): void {
  const rows: Array<[string, string, string]> = [
    ["requests", "Requests", formatCount(s.requests)],
    ["ok", "Succeeded", formatCount(s.ok)],
    ["errors", "Failed", formatCount(s.errors)],
    ["duration", "Duration", formatSeconds(s.durationMs)],
    ["throughput", "Throughput", `${formatDecimal(s.throughput)} requests/s`],
    ...[...PERCENTILES.map((p) => `p${p}`), "max"].map((key): [string, string, string] => [
      key,
      `Latency ${key}`,
      formatMs(s.latencyMs[key] ?? null),
    ]),
  ];
  el.summary.replaceChildren(...rows.map(([key, label, value]) => tableRow(label, [value], key)));
  const shareOf = (count: number) => [formatCount(count), formatShare(count, s.requests)];
  el.members.replaceChildren(...s.members.map(({ member, count }) => tableRow(memberName(member), shareOf(count), member)));
  el.errorTable.tBodies[0]!.replaceChildren(...s.errorKinds.map(({ kind, count }) => tableRow(kind, shareOf(count), kind)));
  el.errorTable.hidden = s.errorKinds.length === 0;
  offerDownloads(run, s);
  el.result.hidden = false;
}

/** A row: a header cell and values; `key` (data-key) lets the browser test find it. */
function tableRow(header: string, values: string[], key: string): HTMLTableRowElement {
  const tr = document.createElement("tr");
  tr.dataset["key"] = key;
  const th = document.createElement("th");
  th.scope = "row";
  th.textContent = header;
  tr.append(th, ...values.map((value) => {
    const td = document.createElement("td");
    td.textContent = value;
    return td;
  }));
  return tr;
}

function offerDownloads(run: StressRun, summary: Summary): void {
  const requests = [...run.records].sort((a, b) => a.index - b.index);
  const name = `stress-${run.startedAt.toISOString().replace(/[:.]/g, "-")}`;
  const json = JSON.stringify({ settings: run.settings, started_at: run.startedAt.toISOString(), stopped: run.stopped, summary, requests }, null, 2);
  linkBlob(el.downloadJson, new Blob([json], { type: "application/json" }), `${name}.json`);
  const rows = requests.map((r) => [r.index, r.op, r.startMs.toFixed(3), r.latencyMs.toFixed(3), r.member, r.status, r.error]);
  const csv = toCsv(["index", "op", "start_ms", "latency_ms", "member", "status", "error"], rows);
  linkBlob(el.downloadCsv, new Blob([csv], { type: "text/csv" }), `${name}.csv`);
}
