import type { Algorithm, StepResult } from './types.js';

/**
 * Block penalty: once a rule trips, its key is refused until a deadline.
 * 'take' and 'peek' ask "is the key blocked?"; 'force' trips the block for
 * p.windowMs from now (the block duration); 'refund' lifts it.
 *
 * State: [blockedUntil]
 */
/** A block deadline, clamped: no block outlasts its duration from now (a deadline further off was stamped by a clock that stepped back). */
export function blockedUntil(until: number, now: number, blockMs: number): number {
  // Stryker disable next-line EqualityOperator: at until = now + blockMs both branches are the same number
  return until > now + blockMs ? now + blockMs : until;
}

export const block: Algorithm = {
  name: 'block',
  fixedSize: 1,
  step(state, now, _cost, p, mode): StepResult {
    const until = state && state[0] > now ? blockedUntil(state[0], now, p.windowMs) : 0;
    if (mode === 'refund') return { allowed: true, remaining: 1, resetMs: 0, retryAfterMs: 0, state: null };
    if (mode === 'force') {
      const next = Math.max(until, now + p.windowMs);
      return { allowed: until === 0, remaining: 0, resetMs: next - now, retryAfterMs: next - now, state: [next] };
    }
    const blocked = until > 0;
    return {
      allowed: !blocked,
      remaining: blocked ? 0 : 1,
      resetMs: blocked ? until - now : 0,
      retryAfterMs: blocked ? until - now : 0,
      state: blocked ? [until] : null,
    };
  },
  ahead(state, now, p) {
    return state[0] > now + p.windowMs;
  },
  expiresAt(state) {
    return state[0];
  },
  /** 1 while the key is blocked, 0 otherwise. */
  usage(state, now) {
    return state && state[0] > now ? 1 : 0;
  },
};
