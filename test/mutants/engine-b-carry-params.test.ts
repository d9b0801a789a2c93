import { describe, expect, it } from 'vitest';
import type { AlgorithmName } from '../../src/algorithms/index.js';
import type { RuleChange } from '../../src/engine/carry-over.js';
import { CarryParams, fetchedLookup, rewriteAsync } from '../../src/engine/carry-params.js';
import type { CompiledPolicy, CompiledRule } from '../../src/policy/compiled.js';
import { loadPolicy } from '../../src/policy/load.js';
import { MemoryStore } from '../../src/stores/memory.js';
import type { AsyncStateRewrite, LimitLookup, RewrittenState, StateRef } from '../../src/stores/store.js';

/**
 * Each key's limit before and after a reload (src/engine/carry-params.ts), by hand: a run-time
 * override, else the file's override, else the limit scaled by the entity's attribute (the
 * store's, else the file's), else the rule's own; and, for a factor not known here, the
 * conservative pick (the largest factor the file gives for a GCRA read from, the smallest for
 * a GCRA written to, the default otherwise).
 */
type Alg = Exclude<AlgorithmName, 'block'>;
interface Bits {
  limit?: string;
  key?: string[];
  scale?: { attribute: string; of: string; default: number };
  overrides?: { rule: string; key: Record<string, string>; limit: string; expires?: string }[];
  attributes?: Record<string, Record<string, Record<string, number>>>;
  burst?: number;
}
function policy(algorithm: Alg, bits: Bits = {}): CompiledPolicy {
  return loadPolicy({
    rules: [{ name: 'r', key: bits.key ?? ['k'], limit: bits.limit ?? '60/1m', algorithm, ...(bits.burst ? { burst: bits.burst } : {}), ...(bits.scale ? { scale: bits.scale } : {}) }],
    ...(bits.overrides ? { overrides: bits.overrides } : {}),
    ...(bits.attributes ? { attributes: bits.attributes } : {}),
  } as Parameters<typeof loadPolicy>[0]);
}
const side = (p: CompiledPolicy, rule: CompiledRule = p.rules[0]) => ({ policy: p, rule });
function carry(before: CompiledPolicy, after: CompiledPolicy, now = 1000, rules?: { before?: CompiledRule; after?: CompiledRule }): CarryParams {
  const b = rules?.before ?? before.rules[0];
  const a = rules?.after ?? after.rules[0];
  const change: RuleChange = { rule: 'r', from: { algorithm: b.algorithm as Alg, params: b.params }, to: { algorithm: a.algorithm as Alg, params: a.params }, message: '' };
  return new CarryParams(change, side(before, b), side(after, a), now);
}

/** A lookup holding the given run-time overrides and store attributes; it records what it is asked. */
function lookup(overrides: Record<string, { limit: number; windowMs: number }> = {}, attributes: Record<string, Record<string, number>> = {}) {
  const asked: { overrides: [string, number][]; attributes: string[] } = { overrides: [], attributes: [] };
  const l: LimitLookup = {
    override: (ref: StateRef, now: number) => {
      asked.overrides.push([ref.key, now]);
      return overrides[ref.key];
    },
    attribute: (entity, name) => {
      asked.attributes.push(`${entity}.${name}`);
      return attributes[entity]?.[name];
    },
  };
  return { l, asked };
}

const SCALE = { attribute: 'seats', of: 'k', default: 2 };

describe('CarryParams.of: a key without override or scale', () => {
  it("the rules' own parameters on each side; the run-time override is looked up once, by the key, at the reload's now", () => {
    const { l, asked } = lookup();
    const c = carry(policy('sliding-log'), policy('gcra', { limit: '30/1m' }), 1234);
    expect(c.of('r|u', l)).toEqual({ from: { limit: 60, windowMs: 60_000 }, to: { limit: 30, windowMs: 60_000 } });
    expect(asked).toEqual({ overrides: [['r|u', 1234]], attributes: [] });
  });
});

describe('CarryParams.of: overrides', () => {
  it("a run-time override sets both sides' limit and window, drops the burst, keeps the rest of the rule's parameters", () => {
    const { l } = lookup({ 'r|vip': { limit: 120, windowMs: 30_000 } });
    const c = carry(policy('gcra', { burst: 10 }), policy('rolling-quota', { limit: '30/1m' }));
    const got = c.of('r|vip', l);
    expect(got.from).toEqual({ limit: 120, windowMs: 30_000, burst: undefined });
    expect(got.from.burst).toBeUndefined();
    expect(got.to.limit).toBe(120);
    expect(got.to.windowMs).toBe(30_000);
    expect(got.to.buckets).toBe(policy('rolling-quota').rules[0].params.buckets);
    // Another key: the rules' own.
    expect(c.of('r|u', l)).toEqual({ from: { limit: 60, windowMs: 60_000, burst: 10 }, to: policy('rolling-quota', { limit: '30/1m' }).rules[0].params });
  });

  it("the file's override on the side whose file has it; a run-time override wins over it", () => {
    const ov = [{ rule: 'r', key: { k: 'vip' }, limit: '120/1m' }];
    const c = carry(policy('sliding-log', { overrides: ov }), policy('gcra', { limit: '30/1m' }));
    expect(c.of('r|vip', lookup().l)).toEqual({ from: { limit: 120, windowMs: 60_000 }, to: { limit: 30, windowMs: 60_000 } });
    const d = carry(policy('sliding-log'), policy('gcra', { limit: '30/1m', overrides: ov }));
    expect(d.of('r|vip', lookup().l)).toEqual({ from: { limit: 60, windowMs: 60_000 }, to: { limit: 120, windowMs: 60_000 } });
    expect(d.of('r|vip', lookup({ 'r|vip': { limit: 7, windowMs: 1000 } }).l)).toEqual({ from: { limit: 7, windowMs: 1000 }, to: { limit: 7, windowMs: 1000 } });
  });

  it("a file override applies while it has not expired at the reload's now (expiresAt > now)", () => {
    // expires 1970-01-01T00:00:01Z = 1000 ms.
    const ov = [{ rule: 'r', key: { k: 'vip' }, limit: '120/1m', expires: '1970-01-01T00:00:01Z' }];
    const before = policy('sliding-log', { overrides: ov });
    const after = policy('gcra');
    expect(carry(before, after, 999).of('r|vip', lookup().l).from.limit).toBe(120);
    expect(carry(before, after, 1000).of('r|vip', lookup().l).from.limit).toBe(60);
  });
});

describe("CarryParams.of: another rule's file override", () => {
  it('is not this rule’s, though its key has the same attributes', () => {
    const two = (limit: string) =>
      loadPolicy({
        rules: [
          { name: 'r', key: ['k'], limit, algorithm: 'gcra' },
          { name: 'q', key: ['k'], limit: '5/1m' },
        ],
        overrides: [{ rule: 'q', key: { k: 'vip' }, limit: '120/1m' }],
      } as Parameters<typeof loadPolicy>[0]);
    expect(carry(two('60/1m'), two('30/1m')).of('r|vip', lookup().l)).toEqual({ from: { limit: 60, windowMs: 60_000 }, to: { limit: 30, windowMs: 60_000 } });
  });
});

describe('fetchedLookup: what a store read asynchronously held', () => {
  const l = fetchedLookup(
    [
      { key: 'r|a', rule: 'r', keyValues: { k: 'a' }, limit: 5, windowMs: 1000 },
      { key: 'r|b', rule: 'r', keyValues: { k: 'b' }, limit: 6, windowMs: 1000, expiresAt: 2000 },
    ],
    new Map([['k:acme', { seats: 3 }]]),
  );
  it('an override by its key, while it has not expired; an attribute by entity and name', () => {
    expect(l.override({ key: 'r|a' }, 5000)).toMatchObject({ limit: 5 });
    expect(l.override({ key: 'r|b' }, 1999)).toMatchObject({ limit: 6 });
    expect(l.override({ key: 'r|b' }, 2000)).toBeUndefined();
    expect(l.override({ key: 'r|c' }, 0)).toBeUndefined();
    expect(l.attribute('k:acme', 'seats')).toBe(3);
    expect(l.attribute('k:acme', 'other')).toBeUndefined();
    expect(l.attribute('k:zed', 'seats')).toBeUndefined();
  });
});

describe('CarryParams.of: a scaled limit with the factor known', () => {
  it("the store's attribute scales limit and burst on both sides (the store is asked once per side)", () => {
    const { l, asked } = lookup({}, { 'k:acme': { seats: 3 } });
    const c = carry(policy('gcra', { burst: 5, scale: SCALE }), policy('sliding-log', { limit: '30/1m', scale: SCALE }));
    expect(c.of('r|acme', l)).toEqual({ from: { limit: 180, windowMs: 60_000, burst: 15 }, to: { limit: 90, windowMs: 60_000, burst: undefined } });
    expect(asked.attributes).toEqual(['k:acme.seats', 'k:acme.seats']);
  });

  it("else each side's file attribute (before: 4, after: 5); the store's wins over the file's", () => {
    const c = carry(policy('gcra', { scale: SCALE, attributes: { k: { acme: { seats: 4 } } } }), policy('sliding-log', { limit: '30/1m', scale: SCALE, attributes: { k: { acme: { seats: 5 } } } }));
    expect(c.of('r|acme', lookup().l)).toEqual({ from: { limit: 240, windowMs: 60_000, burst: undefined }, to: { limit: 150, windowMs: 60_000, burst: undefined } });
    expect(c.of('r|acme', lookup({}, { 'k:acme': { seats: 3 } }).l)).toMatchObject({ from: { limit: 180 }, to: { limit: 90 } });
  });
});

describe('CarryParams.of: a scaled limit whose factor is not known here (a request sends it)', () => {
  // Default 2; the file gives other entities 1 and 5, and a 0, a −1 and another attribute that do not count.
  const attributes = { k: { a: { seats: 1 }, b: { seats: 5 }, c: { seats: 0 }, d: { seats: -1 }, e: { other: 100 } } };
  const low = { k: { a: { seats: 0.5 }, b: { seats: 1.5 } } };
  const before = (alg: Alg, scale = SCALE, a: Bits['attributes'] = attributes) => policy(alg, { limit: '60/1m', scale, attributes: a });
  const after = (alg: Alg, scale = SCALE, a: Bits['attributes'] = attributes) => policy(alg, { limit: '30/1m', scale, attributes: a });
  const limits = (c: CarryParams, key = 'r|zed') => {
    const got = c.of(key, lookup().l);
    return [got.from.limit, got.to.limit];
  };

  it('the same scale into a GCRA: read with the default, written with the smallest factor (1)', () => {
    expect(limits(carry(before('sliding-log'), after('gcra')))).toEqual([120, 30]);
  });
  it('the same scale out of a GCRA: read with the largest factor (5), written with the default', () => {
    expect(limits(carry(before('gcra'), after('sliding-log')))).toEqual([300, 60]);
  });
  it('the same scale GCRA to GCRA, or between other algorithms: the default on both sides', () => {
    expect(limits(carry(before('gcra'), after('gcra')))).toEqual([120, 60]);
    expect(limits(carry(before('sliding-log'), after('fixed-window')))).toEqual([120, 60]);
  });
  it('a range that holds only the default: the default', () => {
    expect(limits(carry(before('gcra', SCALE, {}), after('sliding-log', { ...SCALE, attribute: 'agents' }, {})))).toEqual([120, 60]);
  });
  it('the smallest and largest may be below the default (0.5, 1.5)', () => {
    expect(limits(carry(before('gcra', SCALE, low), after('sliding-log', { ...SCALE, attribute: 'agents' })))).toEqual([120, 60]);
    expect(limits(carry(before('sliding-log'), after('gcra', { ...SCALE, attribute: 'agents' }, { k: { a: { agents: 0.5 } } })))).toEqual([120, 15]);
    expect(limits(carry(before('gcra', SCALE, { k: { a: { seats: 3 } } }), after('gcra', { ...SCALE, attribute: 'agents' }, { k: { a: { agents: 0.5 } } })))).toEqual([180, 15]);
  });
  it('another attribute on each side: each GCRA side read conservatively, whatever the other side is', () => {
    const agents = { attribute: 'agents', of: 'k', default: 2 };
    const agentsAttrs = { k: { a: { agents: 1 }, b: { agents: 5 } } };
    expect(limits(carry(before('gcra'), after('sliding-log', agents, agentsAttrs)))).toEqual([300, 60]);
    expect(limits(carry(before('sliding-log'), after('gcra', agents, agentsAttrs)))).toEqual([120, 30]);
    expect(limits(carry(before('gcra'), after('gcra', agents, agentsAttrs)))).toEqual([300, 30]);
  });
  it('the same attribute of another key attribute is another scale', () => {
    const k2 = (alg: Alg, limit: string, of: string) => policy(alg, { limit, key: ['k', 'j'], scale: { ...SCALE, of }, attributes });
    expect(limits(carry(k2('gcra', '60/1m', 'k'), k2('gcra', '30/1m', 'j')), 'r|zed|yon')).toEqual([300, 30]);
    expect(limits(carry(k2('gcra', '60/1m', 'k'), k2('gcra', '30/1m', 'k')), 'r|zed|yon')).toEqual([120, 60]);
  });
  it('one side known: that side as it is, the other read conservatively', () => {
    // Before: no scale (factor 1); after: a GCRA scaled by a factor not known here.
    expect(limits(carry(policy('gcra'), after('gcra')))).toEqual([60, 30]);
    // Before: the file knows zed (4); after: it does not.
    expect(limits(carry(before('gcra', SCALE, { k: { zed: { seats: 4 }, b: { seats: 5 } } }), after('gcra')))).toEqual([240, 30]);
    // The same, written with the smallest factor the after file gives (0.5), not the rule's own limit.
    expect(limits(carry(before('gcra', SCALE, { k: { zed: { seats: 4 } } }), after('gcra', SCALE, low)))).toEqual([240, 15]);
    // After known (store: 3 for zed on both sides would make both known): only the after file knows zed.
    expect(limits(carry(before('gcra'), after('gcra', SCALE, { k: { zed: { seats: 3 } } })))).toEqual([300, 90]);
  });
  it('the range is found once and holds for every key', () => {
    const c = carry(before('gcra'), after('gcra', { ...SCALE, attribute: 'agents' }, { k: { a: { agents: 0.5 } } }));
    expect([limits(c, 'r|x'), limits(c, 'r|y')]).toEqual([
      [300, 15],
      [300, 15],
    ]);
  });
});

describe('CarryParams: the key read back from its state key', () => {
  const asked = (c: CarryParams, key: string) => {
    const { l, asked: a } = lookup();
    c.of(key, l);
    return a.overrides.map(([k]) => k);
  };

  it("entities: the scaling entity of each side, once; none without a scale or for a key of another shape", () => {
    const scaled = carry(policy('gcra', { scale: SCALE }), policy('sliding-log', { scale: SCALE }));
    expect(scaled.entities('r|acme')).toEqual(['k:acme']);
    expect(scaled.entities('q|acme')).toEqual([]);
    expect(scaled.entities('r|a%7Cb')).toEqual(['k:a|b']);
    const two = (of: string) => policy('gcra', { key: ['k', 'j'], scale: { ...SCALE, of } });
    expect(carry(two('k'), two('j')).entities('r|x|y')).toEqual(['k:x', 'j:y']);
    expect(carry(two('j'), two('j')).entities('r|x|y')).toEqual(['j:y']);
    expect(carry(two('k'), two('j')).entities('r|x')).toEqual([]);
    expect(carry(two('k'), two('j')).entities('r|x|y|z')).toEqual([]);
    expect(carry(policy('gcra'), policy('sliding-log')).entities('r|acme')).toEqual([]);
    // A scale whose `of` is not a key attribute names no entity.
    const p = policy('gcra', { scale: SCALE });
    const off = { ...p.rules[0], scale: { ...SCALE, of: 'tenant' } };
    expect(carry(p, p, 1000, { before: off, after: off }).entities('r|acme')).toEqual([]);
  });

  it('a key of another length, name or shape is looked up as it is; its scale factor is not known', () => {
    const one = policy('gcra', { scale: SCALE });
    const two = policy('gcra', { key: ['k', 'j'], scale: SCALE });
    expect(carry(one, two).entities('r|a|b')).toEqual([]);
    expect(asked(carry(one, two), 'r|a|b')).toEqual(['r|a|b']);
    expect(asked(carry(one, one), 'q|acme')).toEqual(['q|acme']);
    expect(asked(carry(two, two), 'r|a')).toEqual(['r|a']);
    // Unknown factor: a GCRA-to-GCRA change on the same scale reads the default (2) on both sides.
    expect(carry(one, two).of('r|a|b', lookup({}, { 'k:a': { seats: 10 } }).l)).toMatchObject({ from: { limit: 120 }, to: { limit: 120 } });
  });

  it('one key attribute: a "|" a store handed back unescaped is part of the value; the lookup gets the canonical key', () => {
    const one = policy('gcra');
    expect(asked(carry(one, one), 'r|a|b')).toEqual(['r|a%7Cb']);
    expect(asked(carry(one, one), 'r|a%7Cb')).toEqual(['r|a%7Cb']);
    expect(carry(policy('gcra', { scale: SCALE }), policy('gcra', { scale: SCALE })).entities('r|a|b')).toEqual(['k:a|b']);
  });

  it('a rule without a key: its one state key is the name', () => {
    const global = policy('gcra', { key: [] });
    expect(asked(carry(global, global), 'r')).toEqual(['r']);
    expect(asked(carry(global, global), 'r|x')).toEqual(['r|x']);
  });
});

/** A memory store that rewrites only asynchronously, as Redis does: each state's rewrite is awaited, then written. */
class AsyncRewriteStore extends MemoryStore {
  attributeReads: string[] = [];
  constructor() {
    super();
    Object.defineProperty(this, 'rewriteStates', { value: undefined });
  }
  override async getAttributes(entity: string): Promise<Record<string, number>> {
    this.attributeReads.push(entity);
    return super.getAttributes(entity);
  }
  async rewriteStatesAsync(ns: string, rewrite: AsyncStateRewrite): Promise<number> {
    const pending: [string, readonly number[]][] = [];
    MemoryStore.prototype.rewriteStates.call(this, ns, (state, key) => {
      pending.push([key, [...state]]);
      return { state: [...state], expiresAt: Number.MAX_SAFE_INTEGER };
    });
    const next = new Map<string, RewrittenState>();
    for (const [key, state] of pending) next.set(key, await rewrite(state, key));
    return MemoryStore.prototype.rewriteStates.call(this, ns, (_s, key) => next.get(key)!);
  }
}

describe('rewriteAsync: a store listed asynchronously', () => {
  it("reads the run-time overrides and each entity's attributes (once) first, then rewrites each state with its key's limits", async () => {
    const store = new AsyncRewriteStore();
    const before = policy('sliding-log', { key: ['k', 'j'], scale: { ...SCALE, default: 1 } });
    const after = policy('gcra', { key: ['k', 'j'], limit: '30/1m', scale: { ...SCALE, default: 1 } });
    await store.setAttributes('k:acme', { seats: 2 });
    await store.setOverride({ key: 'r|vip|1', rule: 'r', keyValues: { k: 'vip', j: '1' }, limit: 120, windowMs: 60_000 });
    await store.setOverride({ key: 'r|zed|1', rule: 'r', keyValues: { k: 'zed', j: '1' }, limit: 6, windowMs: 60_000, expiresAt: 2000 });
    const take = (key: string, n: number) => {
      const [, k, j] = key.split('|');
      for (let i = 0; i < n; i++) store.apply([{ key, ns: 'r', id: `${k}|${j}`, tag: key, algorithm: 'sliding-log', params: { limit: 100, windowMs: 60_000 }, cost: 1, mode: 'take', shadow: false, chargeRejected: false, blockMs: 0, blockOnly: false }], 1000);
    };
    take('r|acme|1', 3);
    take('r|acme|2', 1);
    take('r|vip|1', 2);
    take('r|zed|1', 1);
    const change: RuleChange = { rule: 'r', from: { algorithm: 'sliding-log', params: before.rules[0].params }, to: { algorithm: 'gcra', params: after.rules[0].params }, message: '' };
    const params = new CarryParams(change, side(before), side(after), 2000);
    expect(await rewriteAsync(store, change, params, 2000)).toBe(4);
    const tat = (key: string) => store.read({ key, ns: 'r', id: key.slice(2) })?.[0];
    // acme: factor 2 → 60/1m, an interval of 1000 ms; vip: 120/1m (500 ms); zed: unknown factor, its
    // override expired at 2000 → written with the smallest factor (the default, 1): 30/1m (2000 ms).
    expect([tat('r|acme|1'), tat('r|acme|2'), tat('r|vip|1'), tat('r|zed|1')]).toEqual([2000 + 3 * 1000, 2000 + 1000, 2000 + 2 * 500, 2000 + 2000]);
    expect(store.attributeReads.sort()).toEqual(['k:acme', 'k:vip', 'k:zed']);
  });
});
