// A stress run: `clients` loops, each sending its next request as soon as its last one is answered,
// to this page's own member, until the count is reached or the time is up (or Stop). The member
// runs each job itself or, as the leader, dispatches it to another member; every answer names the
// member that ran it (X-Stego-Member).

import { ApiError, call, STEGO_TIMEOUT_MS } from "./api";
import type { RequestRecord } from "./stats";

export type Mode = "embed" | "extract" | "mixed";

export interface StressSettings {
  mode: Mode;
  /** Concurrent request loops. */
  clients: number;
  /** A number of requests, or seconds during which new requests start. */
  limit: { requests: number } | { seconds: number };
  /** Bytes of the random text message each embed hides. */
  payloadBytes: number;
}

const MEMBER_HEADER = "X-Stego-Member";
const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** A random text message of `bytes` ASCII characters (so as many bytes): no two embeds alike. */
function randomMessage(bytes: number): string {
  // getRandomValues fills at most 65,536 bytes a call: the largest payload the form accepts.
  const random = crypto.getRandomValues(new Uint8Array(bytes));
  let text = "";
  for (const b of random) text += LETTERS[b % LETTERS.length];
  return text;
}

function embedForm(payloadBytes: number): FormData {
  // As the Hide tab sends it with the server's default cover: a message and nothing else.
  const form = new FormData();
  form.append("message", randomMessage(payloadBytes));
  return form;
}

/**
 * Makes the image the extracts read: an embed before the run, not timed. Throws ApiError when the
 * member refuses it (the run would only repeat that refusal).
 */
export async function makeSample(payloadBytes: number, cancel: AbortSignal): Promise<Blob> {
  const response = await call("/api/v1/embed", { method: "POST", body: embedForm(payloadBytes) }, STEGO_TIMEOUT_MS, cancel);
  return response.blob();
}

export class StressRun {
  readonly records: RequestRecord[] = [];
  /** performance.now() at the start: every request's start and latency are measured on that clock. */
  readonly started = performance.now();
  /** The same moment by the wall clock, for the downloads. */
  readonly startedAt = new Date();
  /** Milliseconds from the start to the last answer (or to Stop), once the run is over. */
  durationMs: number | null = null;
  private next = 0;
  private readonly stop = new AbortController();

  constructor(readonly settings: StressSettings, private readonly sample: Blob | null) {}

  /** Runs to the end (the count reached, the time up, or stop()). */
  async run(): Promise<void> {
    await Promise.all(Array.from({ length: this.settings.clients }, () => this.loop()));
    // Stopped, the run lasted until Stop (end() noted when).
    if (!this.stopped) this.durationMs = this.lastAnswerMs();
  }

  /** Ends the run now: no request starts, the ones in flight are abandoned (and not recorded). */
  end(): void {
    if (this.stopped) return;
    this.durationMs = this.elapsedMs();
    this.stop.abort();
  }

  get stopped(): boolean {
    return this.stop.signal.aborted;
  }

  elapsedMs(): number {
    return performance.now() - this.started;
  }

  /** Requests started so far (the ones in flight included). */
  get startedCount(): number {
    return this.next;
  }

  private lastAnswerMs(): number {
    return this.records.reduce((last, r) => Math.max(last, r.startMs + r.latencyMs), 0);
  }

  private mayStart(index: number): boolean {
    if (this.stopped) return false;
    const { limit } = this.settings;
    return "requests" in limit ? index < limit.requests : this.elapsedMs() < limit.seconds * 1000;
  }

  private bodyOf(op: "embed" | "extract"): FormData {
    if (op === "embed") return embedForm(this.settings.payloadBytes);
    if (!this.sample) throw new Error("a run with extracts needs a sample image");
    const form = new FormData();
    form.append("file", this.sample, "stego.png");
    return form;
  }

  private async loop(): Promise<void> {
    for (;;) {
      const index = this.next;
      if (!this.mayStart(index)) return;
      this.next++;
      const op = this.settings.mode === "mixed" ? (index % 2 === 0 ? "embed" : "extract") : this.settings.mode;
      // Built before the clock starts: the request's latency is the member's and the network's.
      const body = this.bodyOf(op);
      const start = performance.now();
      let record: Omit<RequestRecord, "latencyMs">;
      try {
        const response = await call(`/api/v1/${op}`, { method: "POST", body }, STEGO_TIMEOUT_MS, this.stop.signal);
        // To the last byte: the time a client waits for its image or message.
        await response.arrayBuffer();
        record = { index, op, startMs: start - this.started, member: response.headers.get(MEMBER_HEADER) ?? "", status: response.status, error: "" };
      } catch (err) {
        if (this.stopped) return;
        const failure = err instanceof ApiError ? err : new ApiError("", 0, "network");
        const kind = failure.code || (failure.status ? `http_${failure.status}` : "network");
        record = { index, op, startMs: start - this.started, member: failure.headers.get(MEMBER_HEADER) ?? "", status: failure.status, error: kind };
      }
      this.records.push({ ...record, latencyMs: performance.now() - start });
    }
  }
}
