import { describe, expect, it } from 'vitest';
import { Fallback } from '../../src/engine/fallback.js';
import type { OpResult, TxOp } from '../../src/stores/store.js';
import { fixedWindowOp } from './support.js';

/**
 * The outage stand-in (src/engine/fallback.ts) at its edges: which answer of the store is
 * remembered under which key, what an in-place update keeps, how a seed starts, the bound on
 * what is remembered, and what of the op reaches the local limiter. Fixed window 10 per minute.
 */
const NOW = 1_000_000;
const op = (over: Partial<TxOp> = {}): TxOp => fixedWindowOp({ limit: 10, windowMs: 60_000 }, over);
const seen = (limit: number, remaining: number, windowMs = 60_000, extra: Partial<OpResult> = {}): OpResult => ({ allowed: true, blocked: false, limit, windowMs, remaining, resetMs: 0, retryAfterMs: 0, ...extra });
function admits(f: Fallback, o: TxOp, tries = 30, now = NOW): number {
  let n = 0;
  for (let i = 0; i < tries; i++) if (f.apply([o], now)[0].allowed) n++;
  return n;
}

describe('fallback: what the store answered, remembered', () => {
  it('an op with a block key that was not blocked is remembered by its count (3 left of 10)', () => {
    const f = new Fallback(100, () => 1);
    const blocking = op({ blockMs: 30_000, blockKey: 'r!b|a' });
    f.remember([blocking], [seen(10, 3)], NOW - 1000);
    expect(f.remembered).toBe(1);
    expect(admits(f, blocking)).toBe(3);
  });

  it('a blocked answer of an op without a block key is remembered by its count', () => {
    const f = new Fallback(100, () => 1);
    f.remember([op()], [seen(10, 4, 60_000, { allowed: false, blocked: true, retryAfterMs: 5000 })], NOW - 1000);
    expect(admits(f, op())).toBe(4);
  });

  it('a window noted again in place is the one used (30 s), and so is its age', () => {
    const f = new Fallback(100, () => 1);
    f.remember([op()], [seen(20, 10)], NOW - 1000);
    f.remember([op()], [seen(20, 10, 30_000)], NOW - 1000);
    expect(f.apply([op()], NOW)[0]).toMatchObject({ limit: 20, windowMs: 30_000, remaining: 9 });
    // Noted again with a figure a window old: not used any more.
    const g = new Fallback(100, () => 1);
    g.remember([op()], [seen(10, 0)], NOW - 1000);
    g.remember([op()], [seen(10, 0)], NOW - 60_000);
    expect(admits(g, op())).toBe(10);
  });

  it("a window of the store's other than the policy's (same limit) is the one shared", () => {
    const f = new Fallback(100, () => 2);
    f.remember([op()], [seen(10, 10, 30_000)], NOW - 1000);
    expect(f.apply([op()], NOW)[0]).toMatchObject({ limit: 5, windowMs: 30_000 });
    // Stale (a window old): the policy's.
    const g = new Fallback(100, () => 2);
    g.remember([op()], [seen(10, 10, 30_000)], NOW - 30_000);
    expect(g.apply([op()], NOW)[0]).toMatchObject({ limit: 5, windowMs: 60_000 });
  });
});

describe('fallback: seeding a key at the outage', () => {
  it('a refund first: the key starts from nothing (what the store counted is not charged)', () => {
    const f = new Fallback(100, () => 1);
    f.remember([op()], [seen(10, 3)], NOW - 1000);
    expect(f.apply([op({ mode: 'refund' })], NOW)[0].allowed).toBe(true);
    expect(admits(f, op())).toBe(10);
  });

  it('a scaled op keeps its scale (the fallback factor 2 doubles the share)', () => {
    const f = new Fallback(100, () => 2);
    expect(admits(f, op({ scale: { entity: 'tenant:x', attribute: 'seats', fallback: 2 } }))).toBe(10);
  });

  it('a negative count of live instances is one instance', () => {
    expect(admits(new Fallback(100, () => -3), op())).toBe(10);
  });

  it('a limit of 1 shared among 2 is still 1; a burst is shared as the limit', () => {
    expect(admits(new Fallback(100, () => 2), fixedWindowOp({ limit: 1, windowMs: 60_000 }))).toBe(1);
    expect(new Fallback(100, () => 3).apply([op({ algorithm: 'gcra', params: { limit: 9, windowMs: 60_000, burst: 7 } })], NOW)[0]).toMatchObject({ limit: 3, remaining: 1 }); // burst floor(7/3) = 2, minus 1
    expect(new Fallback(100, () => 1).apply([op({ algorithm: 'gcra', params: { limit: 9, windowMs: 60_000, burst: 7 } })], NOW)[0]).toMatchObject({ limit: 9, remaining: 6 });
  });
});

describe('fallback: the bound on what is remembered', () => {
  it('at most 100,000 keys, whatever maxKeys says; at least 1', () => {
    const f = new Fallback(1_000_000, () => 1);
    const o = op();
    const r = [seen(10, 5)];
    for (let i = 0; i <= 100_000; i++) f.remember([{ ...o, key: `r|${i}` }], r, NOW);
    expect(f.remembered).toBe(100_000);
    const one = new Fallback(0, () => 1);
    one.remember([op({ key: 'r|1' })], [seen(10, 0)], NOW - 10);
    one.remember([op({ key: 'r|2' })], [seen(10, 0)], NOW - 10);
    expect(one.remembered).toBe(1);
    expect(admits(one, op({ key: 'r|2' }))).toBe(0);
  });

  it('below half the bound (3 of 6) a key noted again keeps its first place; from half on (2 of 4) it moves to the young end', () => {
    // Below half: r|1 noted again at 2 keys (under 3) stays the oldest, and is forgotten first.
    const f = new Fallback(6, () => 1);
    for (const k of ['r|1', 'r|2', 'r|1', 'r|3', 'r|4', 'r|5', 'r|6', 'r|7']) f.remember([op({ key: k })], [seen(10, 0)], NOW - 10);
    expect(f.remembered).toBe(6);
    expect(admits(f, op({ key: 'r|1' }))).toBe(10);
    expect(admits(f, op({ key: 'r|2' }))).toBe(0);
    // At half: r|1 noted again at 2 keys of 4 moves to the young end; r|2 is forgotten first.
    const g = new Fallback(4, () => 1);
    for (const k of ['r|1', 'r|2', 'r|1', 'r|3', 'r|4', 'r|5']) g.remember([op({ key: k })], [seen(10, 0)], NOW - 10);
    expect(admits(g, op({ key: 'r|2' }))).toBe(10);
    expect(admits(g, op({ key: 'r|1' }))).toBe(0);
  });
});

describe('fallback: the local limiter', () => {
  it('holds at most maxKeys keys (2 here, not its default million)', async () => {
    const f = new Fallback(2, () => 1);
    for (const k of ['r|1', 'r|2', 'r|3', 'r|4']) f.apply([op({ key: k })], NOW);
    expect(await f.local.size(NOW)).toBeLessThanOrEqual(2);
    const g = new Fallback(100, () => 1);
    for (const k of ['r|1', 'r|2', 'r|3', 'r|4']) g.apply([op({ key: k })], NOW);
    expect(await g.local.size(NOW)).toBe(4);
  });
});

describe('fallback: a limit of 0 admits nothing, on any number of instances', () => {
  it('the policy limit, a policy override and the store’s own limit of 0, shared among 1, 2 or 3', () => {
    for (const n of [1, 2, 3]) {
      expect(admits(new Fallback(100, () => n), fixedWindowOp({ limit: 0, windowMs: 60_000 }))).toBe(0);
      expect(admits(new Fallback(100, () => n), op({ key: 'r|o', override: { limit: 0, windowMs: 60_000 } }))).toBe(0);
      const f = new Fallback(100, () => n);
      f.remember([op()], [seen(0, 0)], NOW - 1000); // a run-time override of 0 the store applied
      expect([n, admits(f, op())]).toEqual([n, 0]);
    }
  });
});

describe('fallback: the store’s figure with the policy’s own limit and window', () => {
  it('is not made an override: the policy’s burst is shared as usual (GCRA 10, burst 6, 2 instances: burst 3)', () => {
    const f = new Fallback(100, () => 2);
    const g = op({ algorithm: 'gcra', params: { limit: 10, windowMs: 60_000, burst: 6 } });
    f.remember([g], [seen(10, 6)], NOW - 1000);
    expect(f.apply([{ ...g, key: 'r|fresh' }], NOW)[0]).toMatchObject({ limit: 5, remaining: 2 });
    const h = new Fallback(100, () => 2);
    h.remember([g], [seen(10, 10)], NOW - 1000);
    expect(h.apply([g], NOW)[0]).toMatchObject({ limit: 5, remaining: 2 });
  });

  it('one instance decides with the limit as it is (2.5 stays 2.5), an override’s too', () => {
    expect(new Fallback(100, () => 1).apply([fixedWindowOp({ limit: 2.5, windowMs: 60_000 })], NOW)[0]).toMatchObject({ limit: 2.5, remaining: 1.5 });
    expect(new Fallback(100, () => 1).apply([op({ override: { limit: 2.5, windowMs: 60_000 } })], NOW)[0]).toMatchObject({ limit: 2.5, remaining: 1.5 });
  });
});
