import type { Algorithm, StepResult } from './types.js';

/**
 * Concurrency: at most `limit` units in flight. 'take' acquires leases that expire
 * after windowMs (so a crashed holder cannot leak capacity forever); 'refund'
 * releases them. Leases are interchangeable, so a release drops the oldest ones.
 *
 * State: [leaseExpiry0, leaseExpiry1, ...] in ascending order.
 */
export const concurrency: Algorithm = {
  name: 'concurrency',
  step(state, now, cost, p, mode): StepResult {
    const live: number[] = [];
    if (state) {
      // A lease stamped to expire later than a lease taken now could (the clock stepped back) ends with one.
      const longest = now + p.windowMs;
      // Stryker disable next-line EqualityOperator: i <= length reads undefined past the end, and undefined > now is false: nothing more is pushed
      for (let i = 0; i < state.length; i++) {
        if (state[i] > now)
          // Stryker disable next-line EqualityOperator: at state[i] = longest both branches are the same number
          live.push(state[i] > longest ? longest : state[i]);
      }
    }
    if (mode === 'refund') {
      live.splice(0, Math.min(cost, live.length));
      return finish(true, 0);
    }
    const fits = live.length + cost <= p.limit;
    if (mode === 'force' || (fits && mode === 'take')) {
      for (let i = 0; i < cost; i++) live.push(now + p.windowMs);
    }
    return finish(fits, fits ? 0 : retryAfter());

    function retryAfter(): number {
      // Whole leases must expire; a scaled limit may be fractional.
      const mustExpire = Math.ceil(live.length + cost - p.limit);
      if (cost > p.limit || mustExpire > live.length) return p.windowMs;
      return live[mustExpire - 1] - now;
    }

    function finish(allowed: boolean, retry: number): StepResult {
      return {
        allowed,
        remaining: Math.max(0, p.limit - live.length),
        resetMs: live.length ? live[live.length - 1] - now : 0,
        retryAfterMs: Math.max(0, retry),
        state: live.length ? live : null,
      };
    }
  },
  ahead(state, now, p) {
    return (
      // Stryker disable next-line ConditionalExpression,EqualityOperator: with no lease, state[-1] is undefined and undefined > x is false: the same false
      state.length > 0 &&
      state[state.length - 1] > now + p.windowMs
    );
  },
  expiresAt(state) {
    return state.length ? state[state.length - 1] : 0;
  },
  usage(state, now) {
    let held = 0;
    if (state)
      // Stryker disable next-line EqualityOperator: i <= length reads undefined past the end, and undefined > now is false: nothing more is counted
      for (let i = 0; i < state.length; i++)
        if (state[i] > now) held++;
    return held;
  },
};
