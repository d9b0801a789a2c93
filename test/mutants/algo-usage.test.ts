import { describe, expect, it } from 'vitest';
import { algorithms } from '../../src/algorithms/index.js';

/**
 * usage() (admin inspect's `used`) at the edges where it must read a state as step() does:
 * a lease that expires exactly now, a TAT clamped by a burst larger than the limit. Expected
 * figures from the definitions; each is checked against step() at the same instant as well.
 */
describe('usage() at its edges', () => {
  it('concurrency: a lease expiring exactly now is no longer held (a lease holds for [taken, expiry))', () => {
    const p = { limit: 3, windowMs: 1000 };
    expect(algorithms.concurrency.usage([500, 1000, 1500], 1000, p)).toBe(1);
    expect(algorithms.concurrency.usage([500, 1000, 1500], 999, p)).toBe(2);
    expect(algorithms.concurrency.usage([1000], 1000, p)).toBe(0);
    // step() at 1000 agrees: only the lease to 1500 is live, 2 of 3 remain.
    expect(algorithms.concurrency.step([500, 1000, 1500], 1000, 1, p, 'peek')).toMatchObject({ remaining: 2, state: [1500] });
  });

  it('GCRA with a burst above the limit: a TAT far ahead is believed up to the burst tolerance (2000 ms), not the window (1000 ms)', () => {
    // 10 per 1000 ms: interval 100; burst 20: tolerance 20 × 100 = 2000 > the window, so the ceiling is 2000 and 20 units are held.
    const p = { limit: 10, windowMs: 1000, burst: 20 };
    expect(algorithms.gcra.usage([5000], 0, p)).toBe(20);
    expect(algorithms.gcra.usage([1500], 0, p)).toBe(15); // within the ceiling: (1500 − 0) / 100
    expect(algorithms.gcra.usage([1550], 0, p)).toBe(16); // a part unit counts whole, as step()'s remaining (4) rounds down
    expect(algorithms.gcra.step([1550], 0, 1, p, 'peek').remaining).toBe(4);
    // Burst 5 (tolerance 500 < the window): the window's 1000 ms is the ceiling, 10 units.
    expect(algorithms.gcra.usage([5000], 0, { limit: 10, windowMs: 1000, burst: 5 })).toBe(10);
  });
});
