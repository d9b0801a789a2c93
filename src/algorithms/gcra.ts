import type { Algorithm, StepResult } from './types.js';

/**
 * GCRA (generic cell rate algorithm): a token bucket kept as one number, the
 * theoretical arrival time (TAT) of the next unit. Each unit advances TAT by the
 * emission interval T = window / limit; a request fits while TAT - now stays within
 * the burst tolerance (burst * T). Smooth rates such as "1 per 3 seconds" come out
 * exactly, and "how long until allowed" is a subtraction, which the pacer relies on.
 *
 * State: [tat]. A TAT more than max(burst tolerance, window) ahead is clamped (see tatCeiling).
 */
export const gcra: Algorithm = {
  name: 'gcra',
  fixedSize: 1,
  step(state, now, cost, p, mode): StepResult {
    // A limit of 0 (an override or a scaled limit of nothing) admits nothing: the interval would
    // be infinite and the tolerance 0 × ∞ = NaN. Refused for a window, as the other algorithms do.
    if (!(p.limit > 0)) return { allowed: mode === 'refund', remaining: 0, resetMs: 0, retryAfterMs: mode === 'refund' ? 0 : p.windowMs, state: state ? [state[0]] : null };
    const interval = p.windowMs / p.limit;
    const burst = p.burst ?? p.limit;
    const tolerance = burst * interval;
    const tat = state ? Math.max(Math.min(state[0], now + tatCeiling(p.windowMs, tolerance)), now) : now;

    if (mode === 'refund') {
      const next = Math.max(now, tat - cost * interval);
      return result(true, next, now, interval, tolerance, next > now ? [next] : null, 0);
    }

    const newTat = tat + cost * interval;
    const fits = newTat - now <= tolerance + 1e-9;
    if (mode === 'force' || (fits && mode === 'take')) {
      return result(fits, newTat, now, interval, tolerance, [newTat], fits ? 0 : newTat - tolerance - now);
    }
    const retry = fits ? 0 : newTat - tolerance - now;
    return result(fits, tat, now, interval, tolerance, state && tat > now ? [tat] : null, retry);
  },
  ahead(state, now, p) {
    return state[0] > now + tatCeiling(p.windowMs, (p.burst ?? p.limit) * (p.windowMs / p.limit));
  },
  expiresAt(state) {
    return state[0];
  },
  usage(state, now, p) {
    if (!state) return 0;
    const interval = p.windowMs / p.limit;
    const tat = Math.min(state[0], now + tatCeiling(p.windowMs, (p.burst ?? p.limit) * interval));
    // The units the bucket still holds; the same rounding as step()'s remaining, so used + remaining = burst.
    // Stryker disable next-line ConditionalExpression,EqualityOperator: at tat <= now the ceiling is of a number <= -1e-9, so Math.max gives the same 0
    return tat > now ? Math.max(0, Math.ceil((tat - now) / interval - 1e-9)) : 0;
  },
};

/**
 * How far ahead of now a TAT is believed: a TAT further ahead was stamped by a clock that has
 * since stepped back (or is a forced debt), and is clamped so no key waits longer than a window
 * beyond its burst.
 */
export function tatCeiling(windowMs: number, tolerance: number): number {
  return Math.max(tolerance, windowMs);
}

function result(
  allowed: boolean,
  tat: number,
  now: number,
  interval: number,
  tolerance: number,
  state: number[] | null,
  retryAfterMs: number,
): StepResult {
  const remaining = Math.max(0, Math.floor((tolerance - (tat - now)) / interval + 1e-9));
  return { allowed, remaining, resetMs: Math.max(0, Math.ceil(tat - now)), retryAfterMs: Math.max(0, Math.ceil(retryAfterMs)), state };
}


