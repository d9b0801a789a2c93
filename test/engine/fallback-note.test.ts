import { describe, expect, it } from 'vitest';
import { Fallback } from '../../src/engine/fallback.js';
import type { OpResult, TxOp } from '../../src/stores/store.js';
import { fixedWindowOp } from '../mutants/support.js';

/** What the outage stand-in remembers of a key noted again: the latest figure, and (near its bound) the latest age. */
const NOW = 1_000_000;
const op = (over: Partial<TxOp> = {}): TxOp => fixedWindowOp({ limit: 10, windowMs: 60_000 }, over);
const seen = (limit: number, remaining: number, windowMs = 60_000): OpResult => ({ allowed: true, blocked: false, limit, windowMs, remaining, resetMs: 0, retryAfterMs: 0 });
function admits(f: Fallback, o: TxOp, tries = 30): number {
  let n = 0;
  for (let i = 0; i < tries; i++) if (f.apply([o], NOW)[0].allowed) n++;
  return n;
}

describe('fallback: a key noted again', () => {
  it('far from the bound, its entry takes the latest figure, limit and window (updated in place)', () => {
    const f = new Fallback(100, () => 1);
    f.remember([op()], [seen(10, 9)], NOW - 1000);
    f.remember([op()], [seen(20, 4, 30_000)], NOW - 500); // an override: 16 of 20 per 30 s used
    expect(f.remembered).toBe(1);
    // The store's limit of the latest answer is the one used: 20 - 16 = 4 left.
    expect(admits(f, op())).toBe(4);
  });

  it('a figure noted again after an outage seeded it is seeded again at the next outage', () => {
    const f = new Fallback(100, () => 1);
    f.remember([op()], [seen(10, 8)], NOW - 1000);
    expect(admits(f, op(), 1)).toBe(1); // seeded: 2 used, plus this one
    f.remember([op()], [seen(10, 1)], NOW - 500); // the store is back and counted 9
    expect(admits(f, op())).toBe(1);
  });

  it('past half its bound, the least recently noted key is forgotten first', () => {
    const f = new Fallback(4, () => 1);
    for (const k of ['r|1', 'r|2', 'r|3']) f.remember([op({ key: k })], [seen(10, 0)], NOW - 10);
    f.remember([op({ key: 'r|1' })], [seen(10, 0)], NOW - 10); // 3 of 4: re-inserted, the newest
    f.remember([op({ key: 'r|4' })], [seen(10, 0)], NOW - 10);
    f.remember([op({ key: 'r|5' })], [seen(10, 0)], NOW - 10); // forgets r|2, the oldest
    expect(f.remembered).toBe(4);
    expect(admits(f, op({ key: 'r|2' }))).toBe(10);
    expect(admits(f, op({ key: 'r|1' }))).toBe(0);
    expect(admits(f, op({ key: 'r|3' }))).toBe(0);
  });
});
