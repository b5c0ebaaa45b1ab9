// Figures of a stress run: percentiles as exact order statistics, the summary, per-second
// buckets for the live charts, and CSV. Pure functions of the recorded requests (no DOM).

/** One request of a run, as recorded when its answer's body has been read (or it failed). */
export interface RequestRecord {
  /** Its place in the run, from 0 (the order of starting, not of finishing). */
  index: number;
  op: "embed" | "extract";
  /** Milliseconds from the run's start to this request's start. */
  startMs: number;
  /** Milliseconds from its start to its answer's body read in full, or to its failure. */
  latencyMs: number;
  /** The member that ran the job (X-Stego-Member), "" when no answer named one. */
  member: string;
  /** The HTTP status, 0 when no answer came. */
  status: number;
  /** "" for a success; else the error body's code, "http_<status>" without one, "timeout" or "network". */
  error: string;
}

export const PERCENTILES = [50, 90, 95, 99, 99.9] as const;

export interface Summary {
  requests: number;
  ok: number;
  errors: number;
  durationMs: number;
  /** Requests answered per second over the whole run. */
  throughput: number;
  /** Latency in ms at each of PERCENTILES (by "p50", "p99.9"…), and the largest; null with no request. */
  latencyMs: Record<string, number | null>;
  /** Requests by the member that ran them, most first ("" for none named). */
  members: Array<{ member: string; count: number }>;
  /** Failed requests by kind, most first. */
  errorKinds: Array<{ kind: string; count: number }>;
}

/**
 * The p-th percentile of `sorted` (ascending) by the nearest rank: the smallest value with at
 * least p % of the values at or below it. A value that was measured, never an interpolation.
 */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  // In hundredths of a percent, whole numbers: 99.9 % of 1,000 is rank 999 exactly, not 999.0000001.
  const rank = Math.ceil((Math.round(p * 100) * sorted.length) / 10_000);
  return sorted[Math.min(Math.max(rank, 1), sorted.length) - 1]!;
}

function ascending(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

/** Counts of each key, most first (equal counts by key, so the order is stable). */
function tally(keys: string[]): Array<[string, number]> {
  const counts = new Map<string, number>();
  for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

export function summarize(records: readonly RequestRecord[], durationMs: number): Summary {
  const sorted = ascending(records.map((r) => r.latencyMs));
  const latencyMs: Record<string, number | null> = {};
  for (const p of PERCENTILES) latencyMs[`p${p}`] = percentile(sorted, p);
  latencyMs["max"] = sorted.length ? sorted[sorted.length - 1]! : null;
  const failed = records.filter((r) => r.error);
  return {
    requests: records.length,
    ok: records.length - failed.length,
    errors: failed.length,
    durationMs,
    throughput: durationMs > 0 ? (records.length * 1000) / durationMs : 0,
    latencyMs,
    members: tally(records.map((r) => r.member)).map(([member, count]) => ({ member, count })),
    errorKinds: tally(failed.map((r) => r.error)).map(([kind, count]) => ({ kind, count })),
  };
}

/** One second of a run: the requests that finished in it. */
export interface Second {
  /** Seconds from the run's start to the end of this second (to the run's end for the last one). */
  end: number;
  /** Requests finished per second. */
  rate: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/**
 * The run by second of finishing, up to `elapsedMs`. While it goes on, whole seconds only: the
 * second under way would read low for as long as it lasts. At its end (`final`) the last, partial
 * second counts too, its rate scaled to a whole second; shorter than half a second, it joins the
 * one before, whose rate it would otherwise distort the other way.
 */
export function bySecond(records: readonly RequestRecord[], elapsedMs: number, final: boolean): Second[] {
  const elapsed = elapsedMs / 1000;
  let seconds = Math.floor(elapsed);
  if (final) {
    seconds = Math.max(1, Math.ceil(elapsed));
    if (seconds > 1 && elapsed - (seconds - 1) < 0.5) seconds--;
  }
  const latencies: number[][] = Array.from({ length: seconds }, () => []);
  for (const r of records) {
    const at = Math.floor((r.startMs + r.latencyMs) / 1000);
    latencies[final ? Math.min(at, seconds - 1) : at]?.push(r.latencyMs);
  }
  return latencies.map((values, at) => {
    const length = final && at === seconds - 1 ? elapsed - at : 1;
    const sorted = ascending(values);
    const rate = length > 0 ? values.length / length : 0;
    return { end: at + length, rate, p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99) };
  });
}

/** A CSV document (RFC 4180): a field with a comma, a quote or a line break is quoted. */
export function toCsv(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): string {
  const field = (value: string | number) => {
    const text = String(value);
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return [header, ...rows].map((row) => row.map(field).join(",")).join("\r\n") + "\r\n";
}
