import { describe, expect, it } from 'vitest';
import type { OpResult, TxOp } from '../../src/stores/store.js';
import { effectiveParams, runGeneralTransaction, runOneOp, runTransaction } from '../../src/stores/transaction.js';
import { fixedWindowOp } from './support.js';
import { States } from './tx-states.js';

/**
 * The transaction rules of src/stores/transaction.ts, each case worked out by hand on a fixed
 * window of 2 per 1000 ms at t = 1500 (window [1000, 2000), so a charge writes expiresAt 2000).
 * Every single-op case runs through both runOneOp and runGeneralTransaction.
 */
const NOW = 1500;
const op = (over: Partial<TxOp> = {}): TxOp => fixedWindowOp({ limit: 2, windowMs: 1000 }, over);
const res = (allowed: boolean, remaining: number, retryAfterMs: number, extra: Partial<OpResult> = {}): OpResult => ({
  allowed,
  blocked: false,
  limit: 2,
  windowMs: 1000,
  remaining,
  resetMs: 500,
  retryAfterMs,
  ...extra,
});

/** Runs one op both ways on copies of the same states; both must write and answer alike. */
function single(o: TxOp, init: Record<string, number[]> = {}, setup: (s: States) => void = () => {}) {
  const a = new States(init);
  const b = new States(init);
  setup(a);
  setup(b);
  const one = runOneOp(o, NOW, a);
  const [general] = runGeneralTransaction([o], NOW, b);
  expect(general).toEqual(one);
  expect(b.writes).toEqual(a.writes);
  expect(runTransaction([o], NOW, new States(init)).length).toBe(1);
  return { result: one, writes: a.writes, states: a.map };
}

describe('one op', () => {
  it('an admitted take is charged; a refused one writes nothing', () => {
    expect(single(op())).toEqual({ result: res(true, 1, 0), writes: [['r|a', [1000, 1], 2000]], states: new Map([['r|a', [1000, 1]]]) });
    expect(single(op(), { 'r|a': [1000, 2] })).toMatchObject({ result: res(false, 0, 500), writes: [] });
  });

  it('peek never writes; force and refund always do; a refusal outside shadow trips the block', () => {
    expect(single(op({ mode: 'peek' }), { 'r|a': [1000, 1] }).writes).toEqual([]);
    expect(single(op({ mode: 'force' }), { 'r|a': [1000, 2] })).toMatchObject({ result: res(false, 0, 500), writes: [['r|a', [1000, 3], 2000]] });
    expect(single(op({ mode: 'refund' }), { 'r|a': [1000, 1] })).toMatchObject({ result: res(true, 2, 0), writes: [['r|a', null, 0]] });
    // A refund never trips a block, nor reads one.
    expect(single(op({ mode: 'refund', blockMs: 700, blockKey: 'r!b|a' }), { 'r!b|a': [9000] }).result.blocked).toBe(false);
  });

  it('a refusal trips the block for blockMs: the block is written and the answer is the block', () => {
    const { result, writes } = single(op({ blockMs: 700, blockKey: 'r!b|a' }), { 'r|a': [1000, 2] });
    expect(result).toEqual(res(false, 0, 700, { blocked: true, resetMs: 700 }));
    expect(writes).toEqual([['r!b|a', [2200], 2200]]);
    // No block key: no block, whatever blockMs says.
    expect(single(op({ blockMs: 700 }), { 'r|a': [1000, 2] }).result.blocked).toBe(false);
    // A forced charge past the limit trips it too (outcome rules count failures this way).
    expect(single(op({ mode: 'force', blockMs: 700, blockKey: 'r!b|a' }), { 'r|a': [1000, 2] }).writes).toEqual([
      ['r|a', [1000, 3], 2000],
      ['r!b|a', [2200], 2200],
    ]);
  });

  it('a blocked key is refused outright until the deadline (the last blocked millisecond is now + wait − 1), counter untouched', () => {
    const blocked = single(op({ blockMs: 700, blockKey: 'r!b|a' }), { 'r!b|a': [1800] });
    expect(blocked).toMatchObject({ result: { allowed: false, blocked: true, limit: 2, windowMs: 1000, remaining: 0, resetMs: 300, retryAfterMs: 300 }, writes: [] });
    expect(single(op({ blockMs: 700, blockKey: 'r!b|a' }), { 'r!b|a': [1501] }).result).toMatchObject({ blocked: true, retryAfterMs: 1 });
    expect(single(op({ blockMs: 700, blockKey: 'r!b|a' }), { 'r!b|a': [1500] }).result).toEqual(res(true, 1, 0));
    // A block stamped further off than its length (the clock stepped back) is clamped and written back.
    expect(single(op({ blockMs: 700, blockKey: 'r!b|a' }), { 'r!b|a': [99_000] })).toMatchObject({ result: { retryAfterMs: 700 }, writes: [['r!b|a', [2200], 2200]] });
    // force ignores the block: work already done is charged.
    expect(single(op({ mode: 'force', blockMs: 700, blockKey: 'r!b|a' }), { 'r!b|a': [1800] }).writes).toEqual([['r|a', [1000, 1], 2000]]);
  });

  it('a shadow op that refuses still admits, uncharged, and trips no block', () => {
    const { result, writes } = single(op({ shadow: true, blockMs: 700, blockKey: 'r!b|a' }), { 'r|a': [1000, 2] });
    expect(result).toEqual(res(false, 0, 500));
    expect(writes).toEqual([]);
    // A shadow op serving a block is reported blocked.
    expect(single(op({ shadow: true, blockMs: 700, blockKey: 'r!b|a' }), { 'r!b|a': [1800] }).result.blocked).toBe(true);
  });

  it('chargeRejected charges a refused take (force), but not in shadow', () => {
    expect(single(op({ chargeRejected: true }), { 'r|a': [1000, 2] }).writes).toEqual([['r|a', [1000, 3], 2000]]);
    expect(single(op({ chargeRejected: true, shadow: true }), { 'r|a': [1000, 2] }).writes).toEqual([]);
    expect(single(op({ chargeRejected: true }), { 'r|a': [1000, 1] }).writes).toEqual([['r|a', [1000, 2], 2000]]);
  });

  it('blockOnly peeks the counter, always admits, and is refused only by its block', () => {
    expect(single(op({ blockOnly: true }), { 'r|a': [1000, 2] })).toMatchObject({ result: res(true, 0, 0), writes: [] });
    expect(single(op({ blockOnly: true, mode: 'force' }), { 'r|a': [1000, 1] }).writes).toEqual([]);
    expect(single(op({ blockOnly: true, blockMs: 700, blockKey: 'r!b|a' }), { 'r!b|a': [1800] }).result.blocked).toBe(true);
  });

  it('state stamped ahead of now is written back clamped even when nothing is charged', () => {
    // A window stamped at 3000 (clock stepped back) is the current one: full, refused, rewritten as [1000, 2].
    expect(single(op(), { 'r|a': [3000, 2] })).toMatchObject({ result: res(false, 0, 500), writes: [['r|a', [1000, 2], 2000]] });
    expect(single(op({ mode: 'peek' }), { 'r|a': [3000, 1] }).writes).toEqual([['r|a', [1000, 1], 2000]]);
    expect(single(op({ mode: 'peek' }), { 'r|a': [1000, 1] }).writes).toEqual([]);
  });

  it('the effective parameters answer and set the expiry: an override, a scale', () => {
    const over = single(op({ override: { limit: 5, windowMs: 4000 } }), { 'r|a': [0, 2] });
    // 4000 ms windows: [0, 4000); 3 of 5 used after the charge; expiry 4000.
    expect(over).toMatchObject({ result: { allowed: true, limit: 5, windowMs: 4000, remaining: 2, resetMs: 2500 }, writes: [['r|a', [0, 3], 4000]] });
    const stored = single(op({ override: { limit: 5, windowMs: 4000 } }), {}, (s) => s.overrides.set('r|a', { limit: 1, windowMs: 1000 }));
    expect(stored.result).toMatchObject({ limit: 1, windowMs: 1000, remaining: 0 });
    const scaled = single(op({ scale: { entity: 'tenant:t', attribute: 'seats', fallback: 3 } }), { 'r|a': [1000, 5] });
    expect(scaled.result).toMatchObject({ allowed: true, limit: 6, remaining: 0 });
    const attr = single(op({ scale: { entity: 'tenant:t', attribute: 'seats', fallback: 3 } }), { 'r|a': [1000, 5] }, (s) => s.attributes.set('tenant:t', { seats: 2 }));
    expect(attr.result).toMatchObject({ allowed: false, limit: 4 });
  });
});

describe('several ops', () => {
  const a = op({ key: 'r|a' });
  const b = op({ key: 's|b', params: { limit: 1, windowMs: 1000 } });

  it('admitted only when every non-shadow op admits; then every take is charged', () => {
    const s = new States();
    const out = runGeneralTransaction([a, b], NOW, s);
    expect(out.map((r) => r.allowed)).toEqual([true, true]);
    expect(s.writes).toEqual([['r|a', [1000, 1], 2000], ['s|b', [1000, 1], 2000]]);
    expect(runTransaction([a, b], NOW, new States()).length).toBe(2);
  });

  it('one refusal refuses the transaction and charges no other op', () => {
    const s = new States({ 's|b': [1000, 1] });
    const out = runGeneralTransaction([a, b], NOW, s);
    expect(out.map((r) => r.allowed)).toEqual([true, false]);
    expect(out[0]).toEqual(res(true, 1, 0)); // its own figures, as if charged
    expect(s.writes).toEqual([]);
  });

  it('a shadow refusal does not refuse the others, and the shadow op is not charged', () => {
    const s = new States({ 's|b': [1000, 1] });
    const out = runGeneralTransaction([a, { ...b, shadow: true }], NOW, s);
    expect(out.map((r) => r.allowed)).toEqual([true, false]);
    expect(s.writes).toEqual([['r|a', [1000, 1], 2000]]);
  });

  it('in a refused transaction a chargeRejected op is charged (admitted by itself or not); force and refund ops apply', () => {
    const s = new States({ 's|b': [1000, 1] });
    runGeneralTransaction([{ ...a, chargeRejected: true }, b, op({ key: 'f|c', mode: 'force' }), op({ key: 'g|d', mode: 'refund' })], NOW, s);
    expect(s.writes).toEqual([['r|a', [1000, 1], 2000], ['f|c', [1000, 1], 2000], ['g|d', null, 0]]);
    const t = new States({ 's|b': [1000, 1], 'r|a': [1000, 2] });
    runGeneralTransaction([{ ...a, chargeRejected: true }, b], NOW, t);
    expect(t.writes).toEqual([['r|a', [1000, 3], 2000]]);
    // In an admitted transaction a chargeRejected op is charged once, not forced again.
    const u = new States();
    runGeneralTransaction([{ ...a, chargeRejected: true }, { ...b, key: 's|e' }], NOW, u);
    expect(u.map.get('r|a')).toEqual([1000, 1]);
  });

  it('a blocked op refuses the transaction; a shadow one does not; the refusing op trips its own block only', () => {
    const s = new States({ 'r!b|a': [1800] });
    const out = runGeneralTransaction([{ ...a, blockMs: 700, blockKey: 'r!b|a' }, b], NOW, s);
    expect(out[0]).toMatchObject({ allowed: false, blocked: true, retryAfterMs: 300, resetMs: 300, remaining: 0, limit: 2, windowMs: 1000 });
    expect(out[1].allowed).toBe(true);
    expect(s.writes).toEqual([]);
    const t = new States({ 'r!b|a': [1800] });
    runGeneralTransaction([{ ...a, shadow: true, blockMs: 700, blockKey: 'r!b|a' }, b], NOW, t);
    expect(t.writes).toEqual([['s|b', [1000, 1], 2000]]);
    const u = new States({ 's|b': [1000, 1] });
    const tripped = runGeneralTransaction([{ ...a, blockMs: 700, blockKey: 'r!b|a' }, { ...b, blockMs: 500, blockKey: 's!b|b' }], NOW, u);
    expect(u.writes).toEqual([['s!b|b', [2000], 2000]]);
    expect(tripped[1]).toMatchObject({ blocked: true, resetMs: 500, retryAfterMs: 500 });
    expect(tripped[0].blocked).toBe(false);
    // A clamped block is written back in the general path too.
    const v = new States({ 'r!b|a': [99_000] });
    runGeneralTransaction([{ ...a, blockMs: 700, blockKey: 'r!b|a' }, b], NOW, v);
    expect(v.writes).toEqual([['r!b|a', [2200], 2200]]);
  });

  it('an uncharged op whose state was stamped ahead is written back clamped; its scratch slot does not leak into the next transaction', () => {
    const s = new States({ 'r|a': [3000, 1], 's|b': [1000, 1] });
    runGeneralTransaction([a, b], NOW, s);
    expect(s.writes).toEqual([['r|a', [1000, 1], 2000]]);
    const t = new States({ 's|b': [1000, 1] });
    runGeneralTransaction([a, b], NOW, t);
    expect(t.writes).toEqual([]);
    const u = new States({ 'r|a': [1000, 1] });
    runGeneralTransaction([op({ key: 'r|a', mode: 'peek' }), b], NOW, u);
    expect(u.writes).toEqual([['s|b', [1000, 1], 2000]]);
  });

  it('expiry follows the effective window of each op', () => {
    const s = new States();
    runGeneralTransaction([{ ...a, override: { limit: 5, windowMs: 4000 } }, b], NOW, s);
    expect(s.writes).toEqual([['r|a', [0, 1], 4000], ['s|b', [1000, 1], 2000]]);
  });
});

describe('effective parameters', () => {
  const none = { override: () => undefined, attribute: () => undefined };
  it("a stored override wins over the policy's, and drops the burst", () => {
    const o = op({ algorithm: 'gcra', params: { limit: 2, windowMs: 1000, burst: 4 }, override: { limit: 5, windowMs: 500 } });
    expect(effectiveParams(o, NOW, none)).toEqual({ limit: 5, windowMs: 500, burst: undefined });
    expect(effectiveParams(o, NOW, { ...none, override: () => ({ limit: 7, windowMs: 700 }) })).toEqual({ limit: 7, windowMs: 700, burst: undefined });
  });
  it('a scale multiplies limit and burst by the stored attribute, else the fallback; no scale is the params themselves', () => {
    const params = { limit: 2, windowMs: 1000, burst: 4 };
    const o = op({ params, scale: { entity: 'tenant:t', attribute: 'seats', fallback: 3 } });
    expect(effectiveParams(o, NOW, none)).toEqual({ limit: 6, windowMs: 1000, burst: 12 });
    expect(effectiveParams(o, NOW, { ...none, attribute: () => 0.5 })).toEqual({ limit: 1, windowMs: 1000, burst: 2 });
    expect(effectiveParams(op({ scale: { entity: 'e', attribute: 'x', fallback: 2 } }), NOW, none)).toEqual({ limit: 4, windowMs: 1000, burst: undefined });
    expect(effectiveParams(op({ params }), NOW, none)).toBe(params);
  });
});
