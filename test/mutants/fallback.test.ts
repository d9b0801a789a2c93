import { describe, expect, it } from 'vitest';
import { Fallback } from '../../src/engine/fallback.js';
import type { OpResult, TxOp } from '../../src/stores/store.js';
import { fixedWindowOp } from './support.js';

/**
 * The outage stand-in: each instance gets limit ÷ live instances (whole, at least 1; exact for
 * byte quotas), starts from what the store last reported, and keeps a reported block.
 */
const NOW = 1_000_000;
const op = (over: Partial<TxOp> = {}): TxOp => fixedWindowOp({ limit: 10, windowMs: 60_000 }, over);
const seen = (limit: number, remaining: number, windowMs = 60_000, extra: Partial<OpResult> = {}): OpResult => ({ allowed: true, blocked: false, limit, windowMs, remaining, resetMs: 0, retryAfterMs: 0, ...extra });
/** How many of `tries` single takes the stand-in admits at NOW. */
function admits(f: Fallback, o: TxOp, tries = 30): number {
  let n = 0;
  for (let i = 0; i < tries; i++) if (f.apply([o], NOW)[0].allowed) n++;
  return n;
}

describe('fallback shares', () => {
  it('one instance: the whole limit; n instances: floor(limit ÷ n), at least 1; a bad count is 1', () => {
    expect(admits(new Fallback(100, () => 1), op())).toBe(10);
    expect(admits(new Fallback(100, () => 3), op())).toBe(3);
    expect(admits(new Fallback(100, () => 4), op())).toBe(2);
    expect(admits(new Fallback(100, () => 20), op())).toBe(1);
    expect(admits(new Fallback(100, () => 0), op())).toBe(10);
    expect(admits(new Fallback(100, () => NaN), op())).toBe(10);
    expect(admits(new Fallback(100, () => 2.9), op())).toBe(5);
    expect(new Fallback(100, () => 4).apply([op()], NOW)[0].limit).toBe(2);
  });

  it('a byte quota is shared exactly; a burst and a policy override are shared too', () => {
    const bytes = new Fallback(100, () => 4);
    expect(bytes.apply([op({ algorithm: 'rolling-quota', params: { limit: 10, windowMs: 60_000 }, cost: 2.5 })], NOW)[0]).toMatchObject({ allowed: true, limit: 2.5, remaining: 0 });
    const g = new Fallback(100, () => 2);
    expect(g.apply([op({ algorithm: 'gcra', params: { limit: 10, windowMs: 60_000, burst: 6 } })], NOW)[0]).toMatchObject({ limit: 5, remaining: 2 }); // burst 3 − 1
    expect(g.apply([op({ key: 'r|o', override: { limit: 8, windowMs: 60_000 } })], NOW)[0].limit).toBe(4);
    expect(new Fallback(100, () => 1).apply([op({ key: 'r|o', override: { limit: 8, windowMs: 60_000 } })], NOW)[0].limit).toBe(8);
  });
});

describe('starting from what the store said', () => {
  it('a key starts from its share of the last count, rounded up', () => {
    const f = new Fallback(100, () => 2);
    f.remember([op()], [seen(10, 3)], NOW - 1000); // 7 used → this instance's 4 of its 5
    expect(admits(f, op())).toBe(1);
    expect(f.remembered).toBe(1);
    const g = new Fallback(100, () => 1);
    g.remember([op()], [seen(10, 10)], NOW - 1000); // none used
    expect(admits(g, op())).toBe(10);
  });

  it('a figure older than a window is not used; a refund is not remembered', () => {
    const f = new Fallback(100, () => 1);
    f.remember([op()], [seen(10, 0)], NOW - 60_000);
    expect(admits(f, op())).toBe(10);
    const g = new Fallback(100, () => 1);
    g.remember([op({ mode: 'refund' })], [seen(10, 0)], NOW - 1000);
    expect(g.remembered).toBe(0);
    g.remember([op()], [], NOW);
    expect(g.remembered).toBe(0);
  });

  it("the store's own limit (a run-time override or scale) is the one shared while fresh", () => {
    const f = new Fallback(100, () => 2);
    f.remember([op()], [seen(4, 4, 60_000)], NOW - 1000);
    expect(f.apply([op()], NOW)[0].limit).toBe(2);
    const g = new Fallback(100, () => 2);
    g.remember([op()], [seen(10, 10)], NOW - 1000); // same limit as the policy: shared as usual
    expect(g.apply([op()], NOW)[0].limit).toBe(5);
  });

  it('a blocked key stays blocked until the block ends; the seed happens once per outage', () => {
    const f = new Fallback(100, () => 1);
    const blocking = op({ blockMs: 30_000, blockKey: 'r!b|a' });
    f.remember([blocking], [seen(10, 0, 60_000, { allowed: false, blocked: true, retryAfterMs: 5000 })], NOW - 1000);
    const r = f.apply([blocking], NOW)[0];
    expect([r.allowed, r.blocked, r.retryAfterMs]).toEqual([false, true, 4000]);
    const later = new Fallback(100, () => 1);
    later.remember([blocking], [seen(10, 0, 60_000, { allowed: false, blocked: true, retryAfterMs: 500 })], NOW - 1000);
    expect(later.apply([blocking], NOW)[0].allowed).toBe(true);
  });

  it('a block-only op is remembered only when it has used some of its limit', () => {
    const f = new Fallback(100, () => 1);
    f.remember([op({ blockOnly: true })], [seen(10, 10)], NOW);
    expect(f.remembered).toBe(0);
    f.remember([op({ blockOnly: true })], [seen(10, 9)], NOW);
    expect(f.remembered).toBe(1);
  });

  it('what is remembered is bounded, the oldest forgotten first; close forgets everything', async () => {
    const f = new Fallback(2, () => 1);
    f.remember([op({ key: 'r|1' })], [seen(10, 0)], NOW - 10);
    f.remember([op({ key: 'r|2' })], [seen(10, 0)], NOW - 10);
    f.remember([op({ key: 'r|1' })], [seen(10, 0)], NOW - 10); // refreshed: now the newest
    f.remember([op({ key: 'r|3' })], [seen(10, 0)], NOW - 10); // forgets r|2
    expect(f.remembered).toBe(2);
    expect(admits(f, op({ key: 'r|1' }))).toBe(0);
    expect(admits(f, op({ key: 'r|2' }))).toBe(10);
    expect(admits(f, op({ key: 'r|3' }))).toBe(0);
    await f.close();
    expect(f.remembered).toBe(0);
  });
});
