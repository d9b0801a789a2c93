import { describe, expect, it } from 'vitest';
import { algorithms, fastestAdmissions, type Algorithm } from '../../src/algorithms/index.js';

/**
 * fastestAdmissions (the pacing oracle): the instant of a lone caller's n-th admitted take, each
 * take retried at the algorithm's retryAfterMs (at least 1 ms on), Infinity after 10 000 refused
 * tries of one take. Expected instants are worked out from the algorithms' definitions.
 */

/**
 * An algorithm that admits each take from `opensAt` ms after the first try on, and tells the caller
 * to retry after `retryAfterMs` (a wrong answer it may give: the oracle follows it, not the clock).
 * Test input for the oracle's own loop, not a stand-in for any real part.
 */
function opensAfter(opensAt: number, retryAfterMs: number): Algorithm {
  let first: number | undefined;
  return {
    name: 'fixed-window',
    step(state, now) {
      first ??= now;
      const allowed = now - first >= opensAt;
      return { allowed, remaining: allowed ? 1 : 0, resetMs: 0, retryAfterMs: allowed ? 0 : retryAfterMs, state: state ? [...state, now] : [now] };
    },
    ahead: () => false,
    expiresAt: () => 0,
    usage: () => 0,
  };
}

describe('fastestAdmissions', () => {
  it('a fixed window of 1 per minute: the first take at t0, the second at the next window, the third a window later', () => {
    const p = { limit: 1, windowMs: 60_000 };
    expect(fastestAdmissions(algorithms['fixed-window'], p, 0, 0)).toBe(0); // no take: no time
    expect(fastestAdmissions(algorithms['fixed-window'], p, 0, 1)).toBe(0);
    expect(fastestAdmissions(algorithms['fixed-window'], p, 0, 2)).toBe(60_000); // one retry of 60 000 ms, not 60 000 tries of 1
    expect(fastestAdmissions(algorithms['fixed-window'], p, 0, 3)).toBe(120_000);
    expect(fastestAdmissions(algorithms['fixed-window'], p, 30_000, 2)).toBe(60_000); // from mid-window: its end
  });

  it('GCRA 2 per 1000 ms (interval 500, burst 2): two at once, then one every 500 ms', () => {
    const p = { limit: 2, windowMs: 1000 };
    expect(fastestAdmissions(algorithms.gcra, p, 10_000, 2)).toBe(10_000);
    expect(fastestAdmissions(algorithms.gcra, p, 10_000, 3)).toBe(10_500);
    expect(fastestAdmissions(algorithms.gcra, p, 10_000, 5)).toBe(11_500);
  });

  it('each take starts from the state the previous admitted take left (a sliding log 2 per 1000 ms)', () => {
    // Takes at 0 and 0; the third waits for the first to leave at 1000, the fourth for the second (also 1000), the fifth for the third: 2000.
    const p = { limit: 2, windowMs: 1000 };
    expect(fastestAdmissions(algorithms['sliding-log'], p, 0, 4)).toBe(1000);
    expect(fastestAdmissions(algorithms['sliding-log'], p, 0, 5)).toBe(2000);
  });

  it('follows the retry the algorithm gives, at least 1 ms on (a retry of 0 still moves time)', () => {
    expect(fastestAdmissions(opensAfter(700, 500), { limit: 1, windowMs: 1 }, 100, 1)).toBe(1100); // tries at 100, 600, 1100
    expect(fastestAdmissions(opensAfter(3, 0), { limit: 1, windowMs: 1 }, 100, 1)).toBe(103); // tries at 100, 101, 102, 103
  });

  it('gives up after 10 000 refused tries of one take: admitted on the 10 001st try is still a time, one more is Infinity', () => {
    expect(fastestAdmissions(opensAfter(10_000, 1), { limit: 1, windowMs: 1 }, 0, 1)).toBe(10_000);
    expect(fastestAdmissions(opensAfter(10_001, 1), { limit: 1, windowMs: 1 }, 0, 1)).toBe(Infinity);
    expect(fastestAdmissions(algorithms.gcra, { limit: 0, windowMs: 2000 }, 0, 1)).toBe(Infinity);
  });
});
