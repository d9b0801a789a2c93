/**
 * Sluice client SDK: a fetch-compatible wrapper that paces requests to stay inside a
 * server's published limits, learns limits from response headers, and retries politely.
 */
export { createClient } from './client.js';
export type {
  ClientEvent,
  ClientEventType,
  ClientOptions,
  FetchLike,
  RetryOptions,
  SluiceClient,
  SluiceRequestInit,
} from './client.js';
export { QuotaExceededError, RateLimitedError, SluiceClientError } from './errors.js';
export type { SluiceClientErrorDetails } from './errors.js';
export { parseRateLimitHeaders, parseResetValue, parseRetryAfter } from './headers.js';
export type { HeaderGetter, RateLimitInfo } from './headers.js';
export { backoffCeiling, fullJitter } from './backoff.js';
export type { BackoffOptions } from './backoff.js';
export { systemClock } from './clock.js';
export type { Clock } from './clock.js';
export type { PaceLimit } from './pacer-state.js';
