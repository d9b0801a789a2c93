import type { Algorithm, StepResult } from './types.js';

/**
 * Fixed window: a counter per window aligned to multiples of the window length
 * (as envoy's ratelimit aligns to the unit). Cheap, but admits up to 2x the limit
 * across a window boundary; kept for envoy compatibility.
 *
 * State: [windowStart, count]. A future window is clamped to the current one.
 */
export const fixedWindow: Algorithm = {
  name: 'fixed-window',
  fixedSize: 2,
  step(state, now, cost, p, mode): StepResult {
    const start = Math.floor(now / p.windowMs) * p.windowMs;
    // A window stamped ahead of now (the clock stepped back) counts as the current one:
    // its units were taken, and they hold for at most one window.
    const count = state && state[0] >= start ? state[1] : 0;
    const resetMs = start + p.windowMs - now;

    if (mode === 'refund') {
      const next = Math.max(0, count - cost);
      return { allowed: true, remaining: Math.max(0, p.limit - next), resetMs, retryAfterMs: 0, state: next > 0 ? [start, next] : null };
    }
    const fits = count + cost <= p.limit;
    const charge = mode === 'force' || (fits && mode === 'take');
    const next = charge ? count + cost : count;
    // A cost larger than the limit never fits; the window's reset is still the honest answer.
    const retryAfterMs = fits ? 0 : resetMs;
    return {
      allowed: fits,
      remaining: Math.max(0, p.limit - next),
      resetMs,
      retryAfterMs,
      state: next > 0 ? [start, next] : null,
    };
  },
  ahead(state, now, p) {
    return state[0] > Math.floor(now / p.windowMs) * p.windowMs;
  },
  expiresAt(state, p) {
    return state[0] + p.windowMs;
  },
  usage(state, now, p) {
    return state && state[0] >= Math.floor(now / p.windowMs) * p.windowMs ? state[1] : 0;
  },
};
