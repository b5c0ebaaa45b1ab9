// Calls to the worker's API: same-origin, each with a timeout, errors turned into plain words.

export const STATUS_TIMEOUT_MS = 10_000;
export const STEGO_TIMEOUT_MS = 60_000;

/**
 * A failed call, with the words to show a person. `status` is 0 when no answer came; `code` is
 * then "timeout" or "network", else the error body's code (if it had one). `headers` are the
 * answer's (empty without one): a failed job still names the member that ran it.
 */
export class ApiError extends Error {
  constructor(message: string, readonly status = 0, readonly code = "", readonly body: ErrorBody = {}, readonly headers = new Headers()) {
    super(message);
  }
}

export interface ErrorBody {
  error?: string;
  code?: string;
  detail?: string;
  /** With not_leader: the leader's API address (host:port), where the call would be taken. */
  leader_address?: string | null;
}

const DAMAGED = "The hidden data is damaged (was the image re-saved or resized?).";

const WORDS_BY_CODE: Record<string, string> = {
  no_payload: "This image has nothing hidden in it.",
  password_required: "This message is protected: enter its password.",
  wrong_password: "Wrong password.",
  bad_magic: DAMAGED,
  crc_mismatch: DAMAGED,
  truncated_payload: DAMAGED,
  corrupt_payload: DAMAGED,
  unsupported_image: "This file is not an image the service can read.",
  image_too_large: "This image has more pixels than the service accepts.",
  cover_too_large: "This image is larger than the cover library accepts.",
  library_full: "The cover library is full: delete a cover first.",
  no_such_cover: "That cover is no longer in the library.",
};

/**
 * fetch() that gives up after `timeoutMs`, or when `cancel` fires (a newer request replaced this
 * one), and throws ApiError for any answer that is not 2xx. Answers are not cached unless `init`
 * says otherwise (a library cover's image never changes: its URL names its content).
 */
export async function call(path: string, init: RequestInit, timeoutMs: number, cancel?: AbortSignal): Promise<Response> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new ApiError("The service did not answer in time.", 0, "timeout")), timeoutMs);
  const onCancel = () => controller.abort(cancel?.reason);
  cancel?.addEventListener("abort", onCancel);
  try {
    const response = await fetch(path, { cache: "no-store", ...init, signal: controller.signal });
    if (!response.ok) throw await errorOf(response);
    return response;
  } catch (err) {
    if (controller.signal.aborted) throw controller.signal.reason;
    if (err instanceof ApiError) throw err;
    throw new ApiError("Could not reach the service.", 0, "network");
  } finally {
    clearTimeout(timer);
    cancel?.removeEventListener("abort", onCancel);
  }
}

async function errorOf(response: Response): Promise<ApiError> {
  let body: ErrorBody = {};
  try {
    body = (await response.json()) as ErrorBody;
  } catch {
    // Not our JSON (a proxy's page, say): the status alone has to do.
  }
  const code = body.code ?? "";
  return new ApiError(wordsFor(response.status, body), response.status, code, body, response.headers);
}

function wordsFor(status: number, body: ErrorBody): string {
  const known = body.code ? WORDS_BY_CODE[body.code] : undefined;
  if (known) return known;
  if (status === 413) return "The file is too large for the service.";
  if (body.error) return body.detail && body.detail !== body.error ? `${capitalise(body.error)}: ${body.detail}.` : `${capitalise(body.error)}.`;
  return `The service answered HTTP ${status}.`;
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The words to show for anything a call threw. */
export function describe(err: unknown): string {
  return err instanceof ApiError ? err.message : "Something went wrong in this page.";
}

/** The filename of a `Content-Disposition: attachment` answer (RFC 6266, with filename*). */
export function filenameOf(response: Response, fallback: string): string {
  const header = response.headers.get("Content-Disposition") ?? "";
  const extended = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(header);
  if (extended?.[1]) {
    try {
      return decodeURIComponent(extended[1]);
    } catch {
      // A malformed escape: fall through to the plain name.
    }
  }
  const plain = /filename\s*=\s*"((?:[^"\\]|\\.)*)"|filename\s*=\s*([^;\s]+)/i.exec(header);
  const name = plain?.[1]?.replace(/\\(.)/g, "$1") ?? plain?.[2];
  return name || fallback;
}

/**
 * A fresh Idempotency-Key (a random UUID): a write sent again with the same key takes effect once.
 * crypto.randomUUID() exists only in a secure context, and a member's console may be served over
 * plain HTTP at a LAN address; getRandomValues() exists everywhere.
 */
export function newRequestKey(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40; // version 4
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // RFC 4122 variant
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
