import type { Algorithm, StepResult } from './types.js';

/**
 * Sliding log: the exact rolling window. Every admitted unit is remembered with its
 * time; a unit counts for exactly [t, t + window). So no interval of the window's
 * length ever holds more than the limit, and the next unit is admitted the moment
 * the oldest one leaves. State grows with the limit, so it suits the small limits
 * vendors publish (60/min, 3 per 3 min, 2 per 8 h).
 *
 * State: [t0, cost0, t1, cost1, ...] in time order.
 */
export const slidingLog: Algorithm = {
  name: 'sliding-log',
  step(state, now, cost, p, mode): StepResult {
    const live: number[] = [];
    let used = 0;
    if (state) {
      // Stryker disable next-line EqualityOperator: i <= length reads undefined past the end: NaN + window > now is false, nothing is kept
      for (let i = 0; i < state.length; i += 2) {
        // A unit stamped ahead of now (the clock stepped back) counts from now: for one window, no longer.
        // Stryker disable next-line EqualityOperator: at state[i] = now both branches are the same number
        const t = state[i] > now ? now : state[i];
        if (t + p.windowMs > now) {
          live.push(t, state[i + 1]);
          used += state[i + 1];
        }
      }
    }

    if (mode === 'refund') {
      // Give back the newest units first: they are the ones this request charged.
      let left = cost;
      while (
        left > 0 &&
        // Stryker disable next-line ConditionalExpression,EqualityOperator: with no entry left, live[-1] is undefined: the else branch sets left = 0 and the loop ends with the same (empty) log
        live.length > 0
      ) {
        const c = live[live.length - 1];
        if (c <= left) {
          live.length -= 2;
          left -= c;
        } else {
          live[live.length - 1] = c - left;
          left = 0;
        }
      }
      return finish(true, 0);
    }

    const fits = used + cost <= p.limit;
    if (mode === 'force' || (fits && mode === 'take')) {
      if (live.length >= 2 && live[live.length - 2] === now) live[live.length - 1] += cost;
      else live.push(now, cost);
    }
    return finish(fits, fits ? 0 : retryAfter());

    function retryAfter(): number {
      if (cost > p.limit) return live.length ? live[live.length - 2] + p.windowMs - now : p.windowMs;
      // Walk from the oldest unit until enough have left the window for `cost` to fit.
      let excess = used + cost - p.limit;
      // Stryker disable next-line EqualityOperator: i <= length subtracts undefined: excess is NaN, never <= 0, and the loop ends at the same return
      for (let i = 0; i < live.length; i += 2) {
        excess -= live[i + 1];
        if (excess <= 0) return live[i] + p.windowMs - now;
      }
      return p.windowMs;
    }

    function finish(allowed: boolean, retry: number): StepResult {
      let total = 0;
      // Stryker disable next-line EqualityOperator: i is odd and the length even: i never equals the length
      for (let i = 1; i < live.length; i += 2) total += live[i];
      const newest = live.length ? live[live.length - 2] : now - p.windowMs;
      return {
        allowed,
        remaining: Math.max(0, p.limit - total),
        resetMs: Math.max(0, newest + p.windowMs - now),
        retryAfterMs: Math.max(0, retry),
        state: live.length ? live : null,
      };
    }
  },
  ahead(state, now) {
    return state.length > 0 && state[state.length - 2] > now;
  },
  expiresAt(state, p) {
    return state.length ? state[state.length - 2] + p.windowMs : 0;
  },
  usage(state, now, p) {
    let used = 0;
    if (state) for (let i = 0; i < state.length; i += 2) if (Math.min(state[i], now) + p.windowMs > now) used += state[i + 1];
    return used;
  },
};
