import { parseRetryAfter } from '../client/headers.js';

/**
 * What a job told the pacer about the receiver. A job reports it by returning a
 * fetch Response (inspected automatically), by throwing, or by calling
 * `ctx.report(outcome)` (which wins over the automatic inspection).
 */
export interface Outcome {
  /** The receiver handled the work. Defaults from `status` (< 400) when absent. */
  ok?: boolean;
  /** HTTP status, if there was a response. */
  status?: number;
  /** The receiver asked us to wait this long (Retry-After), in ms. */
  retryAfterMs?: number;
  /** The receiver signalled overload without a status (e.g. a queue-depth header). */
  overloaded?: boolean;
}

/** How an outcome moves the adaptive rate and the stats. */
export interface Verdict {
  /** Counted as failed in stats. */
  failed: boolean;
  /** A sign the receiver is overloaded: errors, timeouts, 429/503, slow answers. */
  congestion: boolean;
  /** Pause the key this long (Retry-After). */
  retryAfterMs?: number;
  /** Worth retrying (network errors, timeouts, 408, 425, 429, 5xx). */
  retryable: boolean;
}

export interface ResponseLike {
  status: number;
  headers: { get(name: string): string | null };
}

export function isResponseLike(v: unknown): v is ResponseLike {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as ResponseLike).status === 'number' &&
    typeof (v as ResponseLike).headers === 'object' &&
    (v as ResponseLike).headers !== null &&
    typeof (v as ResponseLike).headers.get === 'function'
  );
}

/** Reads status and Retry-After from a Response. */
export function outcomeOfResponse(r: ResponseLike, nowMs: number): Outcome {
  const retryAfterMs = r.status === 429 || r.status === 503 || r.status === 509 ? parseRetryAfter(r.headers.get('retry-after'), nowMs) : undefined;
  return retryAfterMs === undefined ? { status: r.status } : { status: r.status, retryAfterMs };
}

/**
 * Reads what a thrown error says: the client SDK's errors (and many HTTP libraries')
 * carry `status`, `retryAfterMs` or the `response`.
 */
export function outcomeOfError(e: unknown, nowMs: number): Outcome {
  const o: Outcome = { ok: false };
  if (typeof e !== 'object' || e === null) return o;
  const err = e as { status?: unknown; statusCode?: unknown; retryAfterMs?: unknown; response?: unknown };
  if (isResponseLike(err.response)) Object.assign(o, outcomeOfResponse(err.response, nowMs));
  const status = typeof err.status === 'number' ? err.status : typeof err.statusCode === 'number' ? err.statusCode : undefined;
  if (status !== undefined) o.status = status;
  if (typeof err.retryAfterMs === 'number' && err.retryAfterMs >= 0) o.retryAfterMs = err.retryAfterMs;
  o.ok = false;
  return o;
}

const RETRYABLE = new Set([408, 425, 429, 500, 502, 503, 504, 509]);

/**
 * Classifies an outcome. Client errors (400, 404, 422...) fail the job but say nothing
 * about the receiver's load, so they neither slow the key down nor get retried.
 */
export function judge(o: Outcome, latencyMs: number, slowMs: number | undefined, threw: boolean, timedOut: boolean): Verdict {
  const status = o.status;
  const ok = o.ok ?? (status === undefined ? !threw : status < 400);
  const overloadStatus = status === 429 || status === 503 || status === 509 || status === 408 || (status !== undefined && status >= 500);
  const slow = slowMs !== undefined && latencyMs > slowMs;
  // A thrown error without a status is a transport failure (refused, reset, DNS): the
  // receiver is unwell, which is congestion as far as sending speed is concerned.
  const transport = !ok && status === undefined;
  const congestion = timedOut || overloadStatus || o.overloaded === true || slow || o.retryAfterMs !== undefined || transport;
  return {
    failed: !ok,
    congestion,
    retryAfterMs: o.retryAfterMs,
    retryable: !ok && (timedOut || transport || (status !== undefined && RETRYABLE.has(status)) || o.retryAfterMs !== undefined),
  };
}
