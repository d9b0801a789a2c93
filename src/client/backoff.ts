/** Retry pacing when the server gives no Retry-After. */
export interface BackoffOptions {
  baseMs: number;
  capMs: number;
}

/** Upper bound of the jitter range for a given retry: min(cap, base * 2^retry). */
export function backoffCeiling(retry: number, { baseMs, capMs }: BackoffOptions): number {
  // 2 ** large overflows to Infinity, which min() turns back into the cap; a zero base
  // must short-circuit because 0 * Infinity is NaN.
  if (!(baseMs > 0) || !(capMs > 0)) return 0;
  return Math.min(capMs, baseMs * 2 ** Math.max(0, retry));
}

/**
 * "Full jitter" exponential backoff: a uniform delay in [0, min(cap, base * 2^retry)].
 * Randomising the whole range (not just adding a little noise) is what spreads a herd of
 * clients that were all rejected at the same instant; see the AWS architecture blog post
 * "Exponential Backoff And Jitter". `retry` is 0 for the first retry.
 */
export function fullJitter(retry: number, options: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = backoffCeiling(retry, options);
  // Clamp: an injected random() might return exactly 1 or slightly out of range.
  const r = Math.min(1, Math.max(0, random()));
  return r * ceiling;
}
