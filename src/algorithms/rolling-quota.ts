import type { Algorithm, StepResult } from './types.js';

export const DEFAULT_BUCKETS = 60;

/**
 * Rolling quota: a weighted budget (bytes, items, money) over a long rolling window,
 * kept as sparse time buckets so a 5-day window costs a few dozen numbers however
 * many requests it saw. A bucket's weight leaves the window once the whole bucket
 * has aged past it, so usage is never under-counted; the window is exact to one
 * bucket's width (window / buckets).
 *
 * State: [bucketStart0, weight0, bucketStart1, weight1, ...] in time order.
 */
export const rollingQuota: Algorithm = {
  name: 'rolling-quota',
  step(state, now, cost, p, mode): StepResult {
    const width = bucketWidth(p);
    const current = Math.floor(now / width) * width;
    const live: number[] = [];
    let used = 0;
    if (state) {
      // Stryker disable next-line EqualityOperator: i <= length reads undefined past the end: NaN + width > now is false, nothing is counted
      for (let i = 0; i < state.length; i += 2) {
        // A bucket stamped ahead of now (the clock stepped back) is the current bucket's weight.
        // Stryker disable next-line EqualityOperator: at state[i] = current both branches are the same number
        const start = state[i] > current ? current : state[i];
        if (start + width + p.windowMs > now) {
          if (
            // Stryker disable next-line ConditionalExpression: with no bucket yet, live[-2] is undefined and never === start: the same push
            live.length >= 2 &&
            live[live.length - 2] === start
          )
            live[live.length - 1] += state[i + 1];
          else live.push(start, state[i + 1]);
          used += state[i + 1];
        }
      }
    }

    if (mode === 'refund') {
      let left = cost;
      for (
        let i = live.length - 2;
        // Stryker disable next-line LogicalOperator,ConditionalExpression: || (or i >= 0 → true) runs one more pass at i = -2: live[-1] is undefined, so left becomes NaN and the loop ends, the buckets untouched
        i >= 0 &&
        // Stryker disable next-line ConditionalExpression,EqualityOperator: at left = 0 each older bucket gives min(0, weight) = 0: nothing changes (costs are ≥ 0, src/engine/cost.ts)
        left > 0;
        i -= 2
      ) {
        const take = Math.min(left, live[i + 1]);
        live[i + 1] -= take;
        left -= take;
      }
      return finish(true, 0, compact(live));
    }

    const fits = used + cost <= p.limit;
    if (mode === 'force' || (fits && mode === 'take')) {
      if (
        // Stryker disable next-line ConditionalExpression: with no bucket yet, live[-2] is undefined and never === current: the same push
        live.length >= 2 &&
        live[live.length - 2] === current
      )
        live[live.length - 1] += cost;
      else live.push(current, cost);
    }
    return finish(fits, fits ? 0 : retryAfter(), live);

    function retryAfter(): number {
      let excess = used + cost - p.limit;
      // Stryker disable next-line EqualityOperator: i <= length subtracts undefined: excess is NaN, never <= 0, and the loop ends at the same return
      for (let i = 0; i < live.length; i += 2) {
        excess -= live[i + 1];
        if (excess <= 0) return live[i] + width + p.windowMs - now;
      }
      return p.windowMs + width;
    }

    function finish(allowed: boolean, retry: number, buckets: number[]): StepResult {
      let total = 0;
      // Stryker disable next-line EqualityOperator: i is odd and the length even: i never equals the length
      for (let i = 1; i < buckets.length; i += 2) total += buckets[i];
      // Stryker disable next-line UnaryOperator: -Infinity is never read: resetMs uses newest only when there are buckets
      const newest = buckets.length ? buckets[buckets.length - 2] : -Infinity;
      return {
        allowed,
        remaining: Math.max(0, p.limit - total),
        resetMs: buckets.length ? Math.max(0, newest + width + p.windowMs - now) : 0,
        retryAfterMs: Math.max(0, Math.ceil(retry)),
        state: buckets.length ? buckets : null,
      };
    }
  },
  ahead(state, now, p) {
    const width = bucketWidth(p);
    return state.length > 0 && state[state.length - 2] > Math.floor(now / width) * width;
  },
  expiresAt(state, p) {
    return state.length ? state[state.length - 2] + bucketWidth(p) + p.windowMs : 0;
  },
  usage(state, now, p) {
    if (!state) return 0;
    const width = bucketWidth(p);
    const current = Math.floor(now / width) * width;
    let used = 0;
    for (let i = 0; i < state.length; i += 2) if (Math.min(state[i], current) + width + p.windowMs > now) used += state[i + 1];
    return used;
  },
};

export function bucketWidth(p: { windowMs: number; buckets?: number }): number {
  return Math.max(1, Math.floor(p.windowMs / (p.buckets ?? DEFAULT_BUCKETS)));
}

function compact(buckets: number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < buckets.length; i += 2) if (buckets[i + 1] > 0) out.push(buckets[i], buckets[i + 1]);
  return out;
}
