export interface SluiceClientErrorDetails {
  /** Pacing key the request belonged to. */
  key: string;
  /** HTTP status that caused the error (509 for fail-fast quota errors). */
  status?: number;
  /** How long the server asked us to wait, if it said. */
  retryAfterMs?: number;
  /** Policy name from the rate-limit headers, if the server named one. */
  policy?: string;
  /** The last response (body unread), absent when the client failed fast without a request. */
  response?: Response;
  /** Attempts made for this call. */
  attempts: number;
  cause?: unknown;
}

/** Base class so callers can catch every limit-related failure of the client in one place. */
export class SluiceClientError extends Error {
  readonly key: string;
  readonly status?: number;
  readonly retryAfterMs?: number;
  readonly policy?: string;
  readonly response?: Response;
  readonly attempts: number;

  constructor(message: string, details: SluiceClientErrorDetails) {
    super(message, details.cause !== undefined ? { cause: details.cause } : undefined);
    this.name = 'SluiceClientError';
    this.key = details.key;
    this.status = details.status;
    this.retryAfterMs = details.retryAfterMs;
    this.policy = details.policy;
    this.response = details.response;
    this.attempts = details.attempts;
  }
}

/** 429/503 that we gave up on: out of attempts or time, or the request was unsafe to retry. */
export class RateLimitedError extends SluiceClientError {
  constructor(message: string, details: SluiceClientErrorDetails) {
    super(message, details);
    this.name = 'RateLimitedError';
  }
}

/**
 * 509: the quota is used up until a reset, so retrying is pointless. Also thrown without
 * a request when a key is already known to be exhausted.
 */
export class QuotaExceededError extends SluiceClientError {
  constructor(message: string, details: SluiceClientErrorDetails) {
    super(message, details);
    this.name = 'QuotaExceededError';
  }
}
