import type { Algorithm, Params } from './types.js';

/**
 * The instant a lone caller starting at `t0` has its `calls`-th take (cost 1) admitted at the
 * earliest, each take at the first instant the algorithm admits it (its retryAfterMs), answers
 * taking no time. What a client pacing against the algorithm can at best achieve: a
 * sliding-window counter, for one, admits fewer than limit per window to a steady caller.
 * Infinity when a take is never admitted (a limit of 0, or under a take's cost).
 */
export function fastestAdmissions(alg: Algorithm, params: Params, t0: number, calls: number): number {
  let state: readonly number[] | null = null;
  let t = t0;
  for (let i = 0; i < calls; i++) {
    for (let tries = 0; ; tries++) {
      if (tries > 10_000) return Infinity;
      const r = alg.step(state, t, 1, params, 'take');
      if (r.allowed) {
        state = r.state;
        break;
      }
      t += Math.max(1, r.retryAfterMs);
    }
  }
  return t;
}
