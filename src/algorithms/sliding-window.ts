import type { Algorithm, StepResult } from './types.js';

/**
 * Sliding window counter (Cloudflare-style): two fixed-window counters, with the
 * previous window's count weighted by how much of it still overlaps the rolling
 * window. O(1) state for large limits, at the price of assuming requests in the
 * previous window were evenly spread.
 *
 * State: [currentWindowStart, previousCount, currentCount]
 */
export const slidingWindow: Algorithm = {
  name: 'sliding-window',
  fixedSize: 3,
  step(state, now, cost, p, mode): StepResult {
    const w = p.windowMs;
    const start = Math.floor(now / w) * w;
    let prev = 0;
    let curr = 0;
    if (state) {
      // A window stamped ahead of now (the clock stepped back) is taken as the current one.
      if (state[0] >= start) {
        prev = state[1];
        curr = state[2];
      } else if (state[0] === start - w) {
        prev = state[2];
      }
    }
    const overlap = 1 - (now - start) / w;
    const estimate = (c: number) => prev * overlap + c;

    if (mode === 'refund') {
      curr = Math.max(0, curr - cost);
      return finish(true, prev, curr, 0);
    }
    const fits = estimate(curr) + cost <= p.limit + 1e-9;
    if (mode === 'force' || (fits && mode === 'take')) curr += cost;
    return finish(fits, prev, curr, fits ? 0 : retryAfter());

    function retryAfter(): number {
      // Within this window: the previous window's weight decays linearly.
      const room = p.limit - curr - cost;
      if (
        room >= 0 &&
        // Stryker disable next-line ConditionalExpression,EqualityOperator: unreachable with prev = 0: a refusal then means curr + cost > limit, so room < 0
        prev > 0
      ) {
        const f = 1 - room / prev; // fraction of the window that must have elapsed
        return Math.max(1, start + f * w - now);
      }
      // Otherwise wait for the next window, where this window's count decays instead.
      const next = start + w;
      if (cost > p.limit) return next - now;
      // Stryker disable next-line ConditionalExpression,EqualityOperator: unreachable with curr = 0: room = limit − cost ≥ 0 here, so a refusal needed prev > 0 and returned above
      const f = curr > 0 ? Math.max(0, 1 - (p.limit - cost) / curr) : 0;
      return Math.max(1, next + f * w - now);
    }

    function finish(allowed: boolean, pv: number, cv: number, retry: number): StepResult {
      const used = pv * overlap + cv;
      return {
        allowed,
        remaining: Math.max(0, Math.floor(p.limit - used + 1e-9)),
        // All counts have left the rolling window once the next window has fully passed.
        resetMs: cv > 0 ? start + 2 * w - now : pv > 0 ? start + w - now : 0,
        retryAfterMs: Math.ceil(retry),
        state: pv > 0 || cv > 0 ? [start, pv, cv] : null,
      };
    }
  },
  ahead(state, now, p) {
    return state[0] > Math.floor(now / p.windowMs) * p.windowMs;
  },
  expiresAt(state, p) {
    return state[0] + 2 * p.windowMs;
  },
  usage(state, now, p) {
    if (!state) return 0;
    const w = p.windowMs;
    const start = Math.floor(now / w) * w;
    const [prev, curr] = state[0] >= start ? [state[1], state[2]] : state[0] === start - w ? [state[2], 0] : [0, 0];
    // The weighted estimate, rounded as step()'s remaining is: used + remaining = limit.
    return Math.max(0, Math.ceil(prev * (1 - (now - start) / w) + curr - 1e-9));
  },
};
