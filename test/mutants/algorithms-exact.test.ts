import { describe, expect, it } from 'vitest';
import { algorithms, type AlgorithmName, type Params, type StepMode } from '../../src/algorithms/index.js';
import { blockedUntil } from '../../src/algorithms/block.js';
import { tatCeiling } from '../../src/algorithms/gcra.js';
import { bucketWidth } from '../../src/algorithms/rolling-quota.js';

/**
 * Every field of every step, worked out by hand from each algorithm's definition (the comments
 * show the arithmetic), at the edges: a window's last and first millisecond, a cost that exactly
 * fills the limit, a refund larger than the count, state stamped ahead of now by a clock that
 * stepped back. The vectors file holds the code to its earlier self; these hold it to the definition.
 */
function step(name: AlgorithmName, state: number[] | null, now: number, cost: number, p: Params, mode: StepMode = 'take') {
  return algorithms[name].step(state, now, cost, p, mode);
}
const r = (allowed: boolean, remaining: number, resetMs: number, retryAfterMs: number, state: number[] | null) => ({ allowed, remaining, resetMs, retryAfterMs, state });

describe('fixed window (3 per 1000 ms)', () => {
  const p = { limit: 3, windowMs: 1000 };
  it('counts within the aligned window and resets at its end', () => {
    expect(step('fixed-window', null, 1500, 1, p)).toEqual(r(true, 2, 500, 0, [1000, 1])); // window [1000, 2000)
    expect(step('fixed-window', [1000, 2], 1999, 1, p)).toEqual(r(true, 0, 1, 0, [1000, 3])); // exactly fills
    expect(step('fixed-window', [1000, 3], 1999, 1, p)).toEqual(r(false, 0, 1, 1, [1000, 3]));
    expect(step('fixed-window', [1000, 3], 2000, 1, p)).toEqual(r(true, 2, 1000, 0, [2000, 1])); // a new window
    expect(step('fixed-window', [1000, 1], 1500, 0, p)).toEqual(r(true, 2, 500, 0, [1000, 1]));
    expect(step('fixed-window', null, 1500, 0, p)).toEqual(r(true, 3, 500, 0, null));
    expect(step('fixed-window', null, 1500, 4, p)).toEqual(r(false, 3, 500, 500, null));
  });
  it('peek never charges, force always does, refund gives back down to nothing', () => {
    expect(step('fixed-window', [1000, 1], 1500, 1, p, 'peek')).toEqual(r(true, 2, 500, 0, [1000, 1]));
    expect(step('fixed-window', [1000, 3], 1500, 2, p, 'force')).toEqual(r(false, 0, 500, 500, [1000, 5]));
    expect(step('fixed-window', [1000, 1], 1500, 2, p, 'force')).toEqual(r(true, 0, 500, 0, [1000, 3]));
    expect(step('fixed-window', [1000, 2], 1500, 1, p, 'refund')).toEqual(r(true, 2, 500, 0, [1000, 1]));
    expect(step('fixed-window', [1000, 2], 1500, 5, p, 'refund')).toEqual(r(true, 3, 500, 0, null));
    expect(step('fixed-window', [0, 2], 1500, 1, p, 'refund')).toEqual(r(true, 3, 500, 0, null)); // last window's count is gone
    expect(step('fixed-window', [1000, 5], 1500, 1, p, 'refund')).toEqual(r(true, 0, 500, 0, [1000, 4]));
  });
  it('a window stamped ahead of now counts as the current one; ahead() and expiresAt()', () => {
    expect(step('fixed-window', [3000, 2], 1500, 1, p)).toEqual(r(true, 0, 500, 0, [1000, 3]));
    expect(algorithms['fixed-window'].ahead([3000, 2], 1500, p)).toBe(true);
    expect(algorithms['fixed-window'].ahead([2000, 2], 1999, p)).toBe(true);
    expect(algorithms['fixed-window'].ahead([1000, 2], 1999, p)).toBe(false);
    expect(algorithms['fixed-window'].expiresAt([1000, 2], p)).toBe(2000);
  });
});

describe('sliding log (3 per 1000 ms)', () => {
  const p = { limit: 3, windowMs: 1000 };
  it('a unit counts for exactly [t, t + window)', () => {
    expect(step('sliding-log', null, 5000, 1, p)).toEqual(r(true, 2, 1000, 0, [5000, 1]));
    // used 3 at 5999: the oldest unit leaves at 6000, so the retry is 1 ms; reset when the newest (5400) leaves.
    expect(step('sliding-log', [5000, 1, 5400, 2], 5999, 1, p)).toEqual(r(false, 0, 401, 1, [5000, 1, 5400, 2]));
    expect(step('sliding-log', [5000, 1, 5400, 2], 6000, 1, p)).toEqual(r(true, 0, 1000, 0, [5400, 2, 6000, 1]));
    // Two more needed at 5999: both units of 5400 must leave, so 5400 + 1000 − 5999.
    expect(step('sliding-log', [5000, 1, 5400, 2], 5999, 3, p)).toEqual(r(false, 0, 401, 401, [5000, 1, 5400, 2]));
    expect(step('sliding-log', [5000, 2, 5400, 1], 5999, 2, p)).toEqual(r(false, 0, 401, 1, [5000, 2, 5400, 1]));
    expect(step('sliding-log', [5000, 1, 5400, 1, 5500, 1], 5999, 2, p)).toEqual(r(false, 0, 501, 401, [5000, 1, 5400, 1, 5500, 1]));
  });
  it('a cost above the limit waits for the newest unit to leave, or a window', () => {
    expect(step('sliding-log', [5400, 2], 6000, 4, p)).toEqual(r(false, 1, 400, 400, [5400, 2]));
    expect(step('sliding-log', null, 6000, 4, p)).toEqual(r(false, 3, 0, 1000, null));
  });
  it('units at the same millisecond share one entry; peek, force and refund', () => {
    expect(step('sliding-log', [6000, 1], 6000, 1, p)).toEqual(r(true, 1, 1000, 0, [6000, 2]));
    expect(step('sliding-log', [5999, 1], 6000, 1, p)).toEqual(r(true, 1, 1000, 0, [5999, 1, 6000, 1]));
    expect(step('sliding-log', [5500, 1], 6000, 1, p, 'peek')).toEqual(r(true, 2, 500, 0, [5500, 1]));
    expect(step('sliding-log', [5500, 3], 6000, 1, p, 'force')).toEqual(r(false, 0, 1000, 500, [5500, 3, 6000, 1]));
    expect(step('sliding-log', [5000, 1, 5400, 2], 5500, 1, p, 'refund')).toEqual(r(true, 1, 900, 0, [5000, 1, 5400, 1]));
    expect(step('sliding-log', [5000, 1, 5400, 2], 5500, 2, p, 'refund')).toEqual(r(true, 2, 500, 0, [5000, 1]));
    expect(step('sliding-log', [5000, 1, 5400, 2], 5500, 3, p, 'refund')).toEqual(r(true, 3, 0, 0, null));
    expect(step('sliding-log', [5000, 1, 5400, 2], 5500, 9, p, 'refund')).toEqual(r(true, 3, 0, 0, null));
    expect(step('sliding-log', [4000, 2, 5400, 1], 5500, 1, p, 'refund')).toEqual(r(true, 3, 0, 0, null)); // 4000 had left
  });
  it('a unit stamped ahead of now counts from now; ahead() and expiresAt()', () => {
    expect(step('sliding-log', [9000, 1], 5000, 1, p)).toEqual(r(true, 1, 1000, 0, [5000, 2]));
    expect(step('sliding-log', [9000, 3], 5000, 1, p)).toEqual(r(false, 0, 1000, 1000, [5000, 3]));
    expect(algorithms['sliding-log'].ahead([4000, 1, 5001, 1], 5000, p)).toBe(true);
    expect(algorithms['sliding-log'].ahead([5000, 1], 5000, p)).toBe(false);
    expect(algorithms['sliding-log'].ahead([], 5000, p)).toBe(false);
    expect(algorithms['sliding-log'].expiresAt([5000, 1, 5400, 2], p)).toBe(6400);
    expect(algorithms['sliding-log'].expiresAt([], p)).toBe(0);
  });
});

describe('sliding window counter (10 per 1000 ms)', () => {
  const p = { limit: 10, windowMs: 1000 };
  it('weights the previous window by its overlap', () => {
    // At 1500 the previous window overlaps half: 8 × 0.5 + 2 = 6 used; 4 more exactly fill.
    expect(step('sliding-window', [1000, 8, 2], 1500, 4, p)).toEqual(r(true, 0, 1500, 0, [1000, 8, 6]));
    // 5 more: 11 > 10. With room 10 − 2 − 5 = 3 the previous weight must fall to 3 = 8 × (1 − f): f = 0.625, at 1625.
    expect(step('sliding-window', [1000, 8, 2], 1500, 5, p)).toEqual(r(false, 4, 1500, 125, [1000, 8, 2]));
    // The stored window is the previous one: its count becomes the previous count.
    expect(step('sliding-window', [0, 5, 8], 1500, 1, p)).toEqual(r(true, 5, 1500, 0, [1000, 8, 1]));
    // Older than that: nothing.
    expect(step('sliding-window', [0, 5, 8], 2500, 1, p)).toEqual(r(true, 9, 1500, 0, [2000, 0, 1]));
  });
  it('waits into the next window when this window alone is too full', () => {
    // 9 + 2 > 10 and no room now: in the next window this 9 must weigh 8: 9 × (1 − f) = 8, f = 1/9, at 2111.1.
    expect(step('sliding-window', [1000, 0, 9], 1500, 2, p)).toEqual(r(false, 1, 1500, 612, [1000, 0, 9]));
    expect(step('sliding-window', null, 1500, 11, p)).toEqual(r(false, 10, 0, 500, null));
    expect(step('sliding-window', [1000, 0, 10], 1000, 1, p)).toEqual(r(false, 0, 2000, 1100, [1000, 0, 10]));
  });
  it('resets when every counted unit has left; peek, force, refund', () => {
    expect(step('sliding-window', [1000, 8, 0], 1500, 0, p, 'peek')).toEqual(r(true, 6, 500, 0, [1000, 8, 0]));
    expect(step('sliding-window', null, 1500, 1, p, 'peek')).toEqual(r(true, 10, 0, 0, null));
    expect(step('sliding-window', [1000, 8, 6], 1500, 4, p, 'refund')).toEqual(r(true, 4, 1500, 0, [1000, 8, 2]));
    expect(step('sliding-window', [1000, 8, 6], 1500, 10, p, 'refund')).toEqual(r(true, 6, 500, 0, [1000, 8, 0]));
    expect(step('sliding-window', [1000, 0, 6], 1500, 10, p, 'refund')).toEqual(r(true, 10, 0, 0, null));
    // After a forced charge the retry is for the same cost again: 12 × (1 − f) + 2 = 10 in the next window, f = 1/3.
    expect(step('sliding-window', [1000, 0, 10], 1500, 2, p, 'force')).toEqual(r(false, 0, 1500, 834, [1000, 0, 12]));
  });
  it('a window stamped ahead of now is the current one; ahead() and expiresAt()', () => {
    expect(step('sliding-window', [5000, 4, 3], 1500, 1, p)).toEqual(r(true, 4, 1500, 0, [1000, 4, 4]));
    expect(algorithms['sliding-window'].ahead([2000, 0, 1], 1999, p)).toBe(true);
    expect(algorithms['sliding-window'].ahead([1000, 0, 1], 1999, p)).toBe(false);
    expect(algorithms['sliding-window'].expiresAt([1000, 0, 1], p)).toBe(3000);
  });
});

describe('GCRA (10 per 1000 ms: one unit every 100 ms, burst 10)', () => {
  const p = { limit: 10, windowMs: 1000 };
  it('advances the theoretical arrival time by the interval per unit', () => {
    expect(step('gcra', null, 0, 1, p)).toEqual(r(true, 9, 100, 0, [100]));
    expect(step('gcra', [900], 0, 1, p)).toEqual(r(true, 0, 1000, 0, [1000])); // exactly fills the burst
    expect(step('gcra', [1000], 0, 1, p)).toEqual(r(false, 0, 1000, 100, [1000]));
    expect(step('gcra', [1000], 100, 1, p)).toEqual(r(true, 0, 1000, 0, [1100]));
    expect(step('gcra', [50], 100, 1, p)).toEqual(r(true, 9, 100, 0, [200])); // a TAT in the past is now
    expect(step('gcra', null, 0, 11, p)).toEqual(r(false, 10, 0, 100, null));
  });
  it('burst sets the tolerance', () => {
    const b = { limit: 10, windowMs: 1000, burst: 2 };
    expect(step('gcra', [150], 0, 1, b)).toEqual(r(false, 0, 150, 50, [150]));
    expect(step('gcra', [100], 0, 1, b)).toEqual(r(true, 0, 200, 0, [200]));
    expect(step('gcra', null, 0, 1, b)).toEqual(r(true, 1, 100, 0, [100]));
  });
  it('peek keeps no past state, force goes into debt, refund moves the TAT back but not before now', () => {
    expect(step('gcra', [50], 100, 1, p, 'peek')).toEqual(r(true, 10, 0, 0, null));
    expect(step('gcra', [300], 100, 1, p, 'peek')).toEqual(r(true, 8, 200, 0, [300]));
    expect(step('gcra', null, 100, 1, p, 'peek')).toEqual(r(true, 10, 0, 0, null));
    expect(step('gcra', [1000], 0, 1, p, 'force')).toEqual(r(false, 0, 1100, 100, [1100]));
    expect(step('gcra', [500], 0, 2, p, 'refund')).toEqual(r(true, 7, 300, 0, [300]));
    expect(step('gcra', [500], 0, 10, p, 'refund')).toEqual(r(true, 10, 0, 0, null));
  });
  it('a TAT further ahead than max(tolerance, window) is clamped to it; ahead() and expiresAt()', () => {
    expect(step('gcra', [5000], 0, 1, p)).toEqual(r(false, 0, 1000, 100, [1000]));
    expect(tatCeiling(1000, 200)).toBe(1000);
    expect(tatCeiling(1000, 2000)).toBe(2000);
    // burst 20: tolerance 2000 ms beyond a 1000 ms window.
    expect(step('gcra', [5000], 0, 1, { limit: 10, windowMs: 1000, burst: 20 })).toEqual(r(false, 0, 2000, 100, [2000]));
    expect(algorithms.gcra.ahead([1001], 0, p)).toBe(true);
    expect(algorithms.gcra.ahead([1000], 0, p)).toBe(false);
    expect(algorithms.gcra.ahead([2000], 0, { limit: 10, windowMs: 1000, burst: 20 })).toBe(false);
    expect(algorithms.gcra.ahead([2001], 0, { limit: 10, windowMs: 1000, burst: 20 })).toBe(true);
    expect(algorithms.gcra.ahead([1001], 0, { limit: 10, windowMs: 1000, burst: 5 })).toBe(true);
    expect(algorithms.gcra.expiresAt([1234], p)).toBe(1234);
  });
  it('rounds the delays up to whole milliseconds (3 per 1000 ms: 333.3 ms per unit)', () => {
    const t = { limit: 3, windowMs: 1000 };
    expect(step('gcra', null, 0, 1, t)).toEqual(r(true, 2, 334, 0, [1000 / 3]));
    expect(step('gcra', [1000], 0, 1, t)).toEqual(r(false, 0, 1000, 334, [1000]));
  });
});

describe('rolling quota (100 per 1000 ms in 10 buckets of 100 ms)', () => {
  const p = { limit: 100, windowMs: 1000, buckets: 10 };
  it("a bucket's weight leaves once the whole bucket has aged past the window", () => {
    expect(step('rolling-quota', null, 250, 30, p)).toEqual(r(true, 70, 1050, 0, [200, 30]));
    // Bucket 200 counts until 200 + 100 + 1000 = 1300.
    expect(step('rolling-quota', [200, 30, 500, 50], 1250, 30, p)).toEqual(r(false, 20, 350, 50, [200, 30, 500, 50]));
    expect(step('rolling-quota', [200, 30, 500, 50], 1299, 20, p)).toEqual(r(true, 0, 1001, 0, [200, 30, 500, 50, 1200, 20]));
    expect(step('rolling-quota', [200, 30, 500, 50], 1300, 30, p)).toEqual(r(true, 20, 1100, 0, [500, 50, 1300, 30]));
    expect(step('rolling-quota', [200, 30, 500, 50], 1250, 51, p)).toEqual(r(false, 20, 350, 350, [200, 30, 500, 50]));
    // 50 more: the excess is 30, exactly bucket 200's weight, so its leaving (at 1300) is enough.
    expect(step('rolling-quota', [200, 30, 500, 50], 1250, 50, p)).toEqual(r(false, 20, 350, 50, [200, 30, 500, 50]));
    expect(step('rolling-quota', [1200, 10], 1250, 5, p)).toEqual(r(true, 85, 1050, 0, [1200, 15]));
  });
  it('a cost above the quota waits a window and a bucket', () => {
    expect(step('rolling-quota', null, 250, 150, p)).toEqual(r(false, 100, 0, 1100, null));
    expect(step('rolling-quota', [200, 30], 250, 150, p)).toEqual(r(false, 70, 1050, 1100, [200, 30]));
  });
  it('buckets stamped ahead of now are the current bucket, merged', () => {
    expect(step('rolling-quota', [200, 10, 900, 5], 450, 5, p)).toEqual(r(true, 80, 1050, 0, [200, 10, 400, 10]));
    expect(step('rolling-quota', [700, 5, 900, 5], 450, 0, p, 'peek')).toEqual(r(true, 90, 1050, 0, [400, 10]));
    expect(algorithms['rolling-quota'].ahead([200, 1, 500, 1], 450, p)).toBe(true);
    expect(algorithms['rolling-quota'].ahead([400, 1], 499, p)).toBe(false);
    expect(algorithms['rolling-quota'].ahead([], 450, p)).toBe(false);
  });
  it('refund takes from the newest bucket first and drops emptied buckets; force', () => {
    expect(step('rolling-quota', [200, 30, 500, 50], 600, 60, p, 'refund')).toEqual(r(true, 80, 700, 0, [200, 20]));
    expect(step('rolling-quota', [200, 30, 500, 50], 600, 10, p, 'refund')).toEqual(r(true, 30, 1000, 0, [200, 30, 500, 40]));
    expect(step('rolling-quota', [200, 30, 500, 50], 600, 500, p, 'refund')).toEqual(r(true, 100, 0, 0, null));
    expect(step('rolling-quota', [200, 90], 600, 20, p, 'force')).toEqual(r(false, 0, 1100, 700, [200, 90, 600, 20]));
  });
  it('bucket width, expiresAt()', () => {
    expect(bucketWidth({ windowMs: 1000 })).toBe(16); // 60 buckets by default, whole ms
    expect(bucketWidth({ windowMs: 1000, buckets: 10 })).toBe(100);
    expect(bucketWidth({ windowMs: 30, buckets: 60 })).toBe(1);
    expect(algorithms['rolling-quota'].expiresAt([200, 30, 500, 50], p)).toBe(1600);
    expect(algorithms['rolling-quota'].expiresAt([], p)).toBe(0);
  });
});

describe('concurrency (3 leases of 1000 ms)', () => {
  const p = { limit: 3, windowMs: 1000 };
  it('takes leases, lets expired ones go, and says when enough will have expired', () => {
    expect(step('concurrency', null, 0, 2, p)).toEqual(r(true, 1, 1000, 0, [1000, 1000]));
    expect(step('concurrency', [1000, 1000], 0, 1, p)).toEqual(r(true, 0, 1000, 0, [1000, 1000, 1000]));
    expect(step('concurrency', [500, 800, 1200], 600, 2, p)).toEqual(r(false, 1, 600, 200, [800, 1200]));
    expect(step('concurrency', [500, 800, 1200], 600, 3, p)).toEqual(r(false, 1, 600, 600, [800, 1200]));
    expect(step('concurrency', [500, 800, 1200], 500, 1, p)).toEqual(r(true, 0, 1000, 0, [800, 1200, 1500]));
    expect(step('concurrency', null, 0, 4, p)).toEqual(r(false, 3, 0, 1000, null));
    // A fractional (scaled) limit: whole leases must expire.
    expect(step('concurrency', [800, 1200], 600, 1, { limit: 2.5, windowMs: 1000 })).toEqual(r(false, 0.5, 600, 200, [800, 1200]));
  });
  it('release drops the oldest leases; force takes beyond the limit', () => {
    expect(step('concurrency', [800, 1200], 600, 1, p, 'refund')).toEqual(r(true, 2, 600, 0, [1200]));
    expect(step('concurrency', [800, 1200], 600, 5, p, 'refund')).toEqual(r(true, 3, 0, 0, null));
    expect(step('concurrency', [1000, 1000, 1000], 0, 1, p, 'force')).toEqual(r(false, 0, 1000, 1000, [1000, 1000, 1000, 1000]));
    expect(step('concurrency', [1000], 0, 1, p, 'peek')).toEqual(r(true, 2, 1000, 0, [1000]));
  });
  it('a lease stamped past a fresh lease ends with one; ahead() and expiresAt()', () => {
    expect(step('concurrency', [5000], 0, 1, p)).toEqual(r(true, 1, 1000, 0, [1000, 1000]));
    expect(algorithms.concurrency.ahead([500, 1001], 0, p)).toBe(true);
    expect(algorithms.concurrency.ahead([1000], 0, p)).toBe(false);
    expect(algorithms.concurrency.ahead([], 0, p)).toBe(false);
    expect(algorithms.concurrency.expiresAt([800, 1200], p)).toBe(1200);
    expect(algorithms.concurrency.expiresAt([], p)).toBe(0);
  });
});

describe('block (1000 ms)', () => {
  const p = { limit: 1, windowMs: 1000 };
  it('refuses until the deadline, trips for its duration, lifts on refund', () => {
    expect(step('block', null, 0, 1, p)).toEqual(r(true, 1, 0, 0, null));
    expect(step('block', [500], 0, 1, p)).toEqual(r(false, 0, 500, 500, [500]));
    expect(step('block', [500], 0, 1, p, 'peek')).toEqual(r(false, 0, 500, 500, [500]));
    expect(step('block', [500], 500, 1, p)).toEqual(r(true, 1, 0, 0, null));
    expect(step('block', [500], 0, 1, p, 'force')).toEqual(r(false, 0, 1000, 1000, [1000]));
    expect(step('block', null, 0, 1, p, 'force')).toEqual(r(true, 0, 1000, 1000, [1000]));
    expect(step('block', [500], 0, 1, p, 'refund')).toEqual(r(true, 1, 0, 0, null));
  });
  it('a deadline further off than the duration is clamped to it; ahead() and expiresAt()', () => {
    expect(step('block', [5000], 0, 1, p)).toEqual(r(false, 0, 1000, 1000, [1000]));
    expect(blockedUntil(1000, 0, 1000)).toBe(1000);
    expect(blockedUntil(1001, 0, 1000)).toBe(1000);
    expect(blockedUntil(600, 100, 1000)).toBe(600);
    expect(algorithms.block.ahead([1001], 0, p)).toBe(true);
    expect(algorithms.block.ahead([1000], 0, p)).toBe(false);
    expect(algorithms.block.expiresAt([1234], p)).toBe(1234);
  });
});
