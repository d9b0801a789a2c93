import { describe, expect, it } from 'vitest';
import type { TxOp } from '../../src/stores/store.js';
import { runGeneralTransaction, runOneOp } from '../../src/stores/transaction.js';
import { fixedWindowOp } from './support.js';
import { States } from './tx-states.js';

/**
 * More of the transaction rules (src/stores/transaction.ts), worked out by hand on fixed windows
 * at t = 1500: a 1000 ms window is [1000, 2000), a 4000 ms one [0, 4000); a charge's state
 * expires at its window's end.
 */
const NOW = 1500;
const op = (over: Partial<TxOp> = {}): TxOp => fixedWindowOp({ limit: 2, windowMs: 1000 }, over);

/** The writes of one op alone, both ways (runOneOp and the general path); they must agree. */
function writesOfOne(o: TxOp, init: Record<string, number[]> = {}, setup: (s: States) => void = () => {}) {
  const a = new States(init);
  const b = new States(init);
  setup(a);
  setup(b);
  const one = runOneOp(o, NOW, a);
  expect(runGeneralTransaction([o], NOW, b)).toEqual([one]);
  expect(b.writes).toEqual(a.writes);
  expect(b.reads).toEqual(a.reads);
  return { result: one, writes: a.writes, reads: a.reads };
}

describe('the expiry of a write follows the effective window', () => {
  it('an override with the same limit and a longer window expires at the longer window’s end', () => {
    // 2 per 4000 ms: window [0, 4000), so the charge expires at 4000, not at the policy window's 2000.
    expect(writesOfOne(op({ override: { limit: 2, windowMs: 4000 } })).writes).toEqual([['r|a', [0, 1], 4000]]);
    expect(writesOfOne(op(), {}, (s) => s.overrides.set('r|a', { limit: 2, windowMs: 4000 })).writes).toEqual([['r|a', [0, 1], 4000]]);
    // Several ops: each its own.
    const s = new States();
    runGeneralTransaction([op({ override: { limit: 2, windowMs: 4000 } }), op({ key: 's|b' })], NOW, s);
    expect(s.writes).toEqual([['r|a', [0, 1], 4000], ['s|b', [1000, 1], 2000]]);
  });
});

describe('nothing to charge, nothing written', () => {
  it('a peek of a key with no state, alone or with others', () => {
    expect(writesOfOne(op({ mode: 'peek' })).writes).toEqual([]);
    const s = new States();
    const out = runGeneralTransaction([op({ mode: 'peek' }), op({ key: 's|b', mode: 'peek' })], NOW, s);
    expect(out.map((r) => [r.allowed, r.remaining])).toEqual([[true, 2], [true, 2]]);
    expect(s.writes).toEqual([]);
  });
});

describe('a store whose read throws mid-transaction', () => {
  it('throws, and leaves nothing behind for the next transaction to write to another key', () => {
    // r|a was stamped ahead (window 3000 at now 1500: a clock stepped back), so deciding it
    // prepares its clamped state [1000, 1]; then the second op's read throws.
    const s = new States({ 'r|a': [3000, 1] });
    s.failing = 's|b';
    expect(() => runGeneralTransaction([op(), op({ key: 's|b' })], NOW, s)).toThrow('cannot read s|b');
    // The next transaction peeks two fresh keys: nothing is charged, so nothing may be written
    // (before, x|c was given r|a's clamped state, [1000, 1]: one unit charged to the wrong key).
    const t = new States();
    runGeneralTransaction([op({ key: 'x|c', mode: 'peek' }), op({ key: 'y|d', mode: 'peek' })], NOW, t);
    expect(t.writes).toEqual([]);
  });
});

describe('a refused take that charges refusals, on a state stamped ahead', () => {
  it('is charged on the clamped window (not merely clamped)', () => {
    // [3000, 2] at 1500 is the current window [1000, 2000) with 2 used: refused, then forced to 3.
    expect(writesOfOne(op({ chargeRejected: true }), { 'r|a': [3000, 2] })).toMatchObject({ result: { allowed: false, remaining: 0 }, writes: [['r|a', [1000, 3], 2000]] });
  });
});

describe('blockOnly', () => {
  it('only peeks the counter: the figures are the ones before any charge, and nothing is written', () => {
    // 1 of 2 used: a take would leave 0; the peek says 1.
    expect(writesOfOne(op({ blockOnly: true }), { 'r|a': [1000, 1] })).toMatchObject({ result: { allowed: true, remaining: 1, retryAfterMs: 0 }, writes: [] });
    const s = new States({ 'r|a': [1000, 1] });
    expect(runGeneralTransaction([op({ blockOnly: true }), op({ key: 's|b' })], NOW, s)[0]).toMatchObject({ allowed: true, remaining: 1 });
    expect(s.writes).toEqual([['s|b', [1000, 1], 2000]]);
  });
});

describe('what is read', () => {
  it('an op without a block key reads only its own state; with one, the block first', () => {
    expect(writesOfOne(op({ blockMs: 700 })).reads).toEqual(['r|a']);
    expect(writesOfOne(op({ blockMs: 700, blockKey: 'r!b|a' })).reads).toEqual(['r!b|a', 'r|a']);
    // force and refund never look at the block.
    expect(writesOfOne(op({ mode: 'force', blockMs: 700, blockKey: 'r!b|a' })).reads).toEqual(['r|a']);
    expect(writesOfOne(op({ mode: 'refund', blockMs: 700, blockKey: 'r!b|a' })).reads).toEqual(['r|a']);
  });
});
