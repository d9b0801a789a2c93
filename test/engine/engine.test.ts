import { describe, expect, it } from 'vitest';
import { MemoryStore, Sluice, type OpResult, type Store, type TxOp } from '../../src/index.js';
import { manualClock } from '../helpers/clock.js';

const twoRules = {
  rules: [
    { name: 'per-account', key: ['account'], limit: '3/1m' },
    { name: 'per-ip', key: ['ip'], limit: '5/1m' },
  ],
};

describe('the decision engine', () => {
  it('decides all matching rules together: when one refuses, none is charged', async () => {
    const clock = manualClock();
    const sluice = await Sluice.open({ policy: twoRules, clock: clock.now });
    for (let i = 0; i < 3; i++) expect((await sluice.check({ account: 'a', ip: '1.1.1.1' })).allowed).toBe(true);
    // per-account is exhausted; per-ip must not be charged by the refused calls.
    for (let i = 0; i < 10; i++) expect((await sluice.check({ account: 'a', ip: '1.1.1.1' })).rule).toBe('per-account');
    const other = await sluice.check({ account: 'b', ip: '1.1.1.1' });
    expect(other.allowed).toBe(true);
    expect(other.rules.find((r) => r.name === 'per-ip')!.remaining).toBe(1);
  });

  it('names the binding rule: the refusing rule that frees up last, or the rule closest to its limit', async () => {
    const clock = manualClock();
    const sluice = await Sluice.open({ policy: twoRules, clock: clock.now });
    const d = await sluice.check({ account: 'a', ip: 'x' });
    expect(d.rule).toBe('per-account'); // 2/3 left vs 4/5 left
    expect(d.headers['RateLimit-Policy']).toBe('"per-account";q=3;w=60, "per-ip";q=5;w=60');
    expect(d.headers.RateLimit).toBe('"per-account";r=2;t=60, "per-ip";r=4;t=60');
  });

  it('shadow rules observe and report but never refuse', async () => {
    const sluice = await Sluice.open({ policy: { rules: [{ name: 'trial', key: 'account', limit: '1/1m', shadow: true }] }, clock: manualClock().now });
    await sluice.check({ account: 'a' });
    const d = await sluice.check({ account: 'a' });
    expect(d).toMatchObject({ allowed: true, shadowDenied: ['trial'] });
    expect(d.headers['RateLimit-Policy']).toBeUndefined();
  });

  it('charges refused calls only when the rule says so', async () => {
    const clock = manualClock();
    const sluice = await Sluice.open({ policy: { rules: [{ name: 'strict', key: 'k', limit: '2/10s', charge_rejected: true }] }, clock: clock.now });
    for (let i = 0; i < 4; i++) await sluice.check({ k: 'x' });
    clock.advance(10_000 - 1);
    // The refused calls at t=0 were charged; all four leave at t=10 s.
    expect((await sluice.check({ k: 'x' })).allowed).toBe(false);
    clock.advance(1);
    expect((await sluice.check({ k: 'x' })).allowed).toBe(true);
  });

  it('takes a per-check cost and an attribute cost', async () => {
    const sluice = await Sluice.open({
      policy: { rules: [{ name: 'units', key: 'k', limit: '10/1m' }, { name: 'items', key: 'k', limit: '100/1m', cost: { attribute: 'items' } }] },
      clock: manualClock().now,
    });
    expect((await sluice.check({ k: 'a' }, { cost: 10 })).allowed).toBe(true);
    expect((await sluice.check({ k: 'a' })).allowed).toBe(false);
    const d = await sluice.check({ k: 'b', items: 60 });
    expect(d.rules.find((r) => r.name === 'items')!.remaining).toBe(40);
    expect((await sluice.check({ k: 'b', items: 60 })).rule).toBe('items');
  });

  it('does not apply a rule when the subject lacks one of its key attributes', async () => {
    const sluice = await Sluice.open({ policy: { rules: [{ name: 'r', key: ['contact', 'question'], limit: '1/1m' }] } });
    const d = await sluice.check({ contact: 'c' });
    expect(d.rules).toHaveLength(0);
    expect(d.toJSON()).toMatchObject({ allowed: true, limit: null, remaining: null });
  });

  it('matches globs, lists, negations and presence', async () => {
    const sluice = await Sluice.open({
      policy: {
        rules: [
          { name: 'glob', match: { route: '/v1/recordings/*' }, limit: '1/1m' },
          { name: 'list', match: { method: ['POST', 'PUT'] }, limit: '1/1m' },
          { name: 'not', match: { plan: { not: 'enterprise' } }, limit: '1/1m' },
          { name: 'exists', match: { apikey: { exists: false } }, limit: '1/1m' },
        ],
      },
    });
    const names = (s: Record<string, string>) => sluice.keysFor(s).map((k) => k.rule);
    expect(names({ route: '/v1/recordings/42', method: 'GET', plan: 'enterprise', apikey: 'k' })).toEqual(['glob']);
    expect(names({ route: '/v1/other', method: 'PUT', plan: 'free' })).toEqual(['list', 'not', 'exists']);
  });

  it('emits legacy X-RateLimit headers when the policy asks', async () => {
    const sluice = await Sluice.open({ policy: { defaults: { legacy_headers: true }, rules: [{ name: 'r', limit: '2/1m' }] }, clock: manualClock().now });
    expect((await sluice.check({})).headers).toMatchObject({ 'X-RateLimit-Limit': '2', 'X-RateLimit-Remaining': '1', 'X-RateLimit-Reset': '60' });
  });

  it('checkSync answers synchronously on the memory store', () => {
    const sluice = Sluice.openSync({ policy: { rules: [{ name: 'r', key: 'k', limit: '1/1s', algorithm: 'gcra' }] } });
    expect(sluice.checkSync({ k: 'a' }).allowed).toBe(true);
    expect(sluice.checkSync({ k: 'a' }).allowed).toBe(false);
  });

  it('checkSync always goes through the store’s apply, so a subclass or a patched instance is called', () => {
    const policy = { rules: [{ name: 'r', key: 'k', limit: '1/1s', algorithm: 'gcra' as const }] };
    class Refusing extends MemoryStore {
      override apply(): OpResult[] {
        throw new Error('down');
      }
    }
    // A store that throws is a store failure: the rule fails open through the fallback, and the error is reported.
    const seen: unknown[] = [];
    const refusing = Sluice.openSync({ policy, store: new Refusing(), onStoreError: (e) => seen.push(e) });
    expect(refusing.checkSync({ k: 'a' }).allowed).toBe(true);
    expect(seen.map((e) => (e as Error).message)).toEqual(['down']);
    const patched = new MemoryStore();
    const sluice = Sluice.openSync({ policy, store: patched, onStoreError: (e) => seen.push(e) });
    patched.apply = () => {
      throw new Error('patched');
    };
    sluice.checkSync({ k: 'a' });
    expect(seen.map((e) => (e as Error).message)).toEqual(['down', 'patched']);
    expect(sluice.counters.storeErrors).toBe(1);
  });

  it('peek reports usage and blocks without charging or tripping anything', async () => {
    const clock = manualClock();
    const sluice = await Sluice.open({ policy: { rules: [{ name: 'r', key: 'k', limit: '1/1m', block: '5m' }] }, clock: clock.now });
    expect((await sluice.check({ k: 'a' })).allowed).toBe(true);
    for (let i = 0; i < 3; i++) {
      const [p] = await sluice.peek({ k: 'a' });
      expect(p).toMatchObject({ key: 'r|a', usage: { remaining: 0, allowed: false }, block: { blocked: false }, policyOverride: false });
    }
    const refused = await sluice.check({ k: 'a' }); // this one trips the block
    expect(refused.allowed).toBe(false);
    const [after] = await sluice.peek({ k: 'a' });
    expect(after.block).toMatchObject({ blocked: true, retryAfterMs: 5 * 60_000 });
  });

  it('releases concurrency leases on record', async () => {
    const sluice = await Sluice.open({ policy: { rules: [{ name: 'inflight', key: 'k', limit: '2/30s', algorithm: 'concurrency' }] }, clock: manualClock().now });
    await sluice.check({ k: 'a' });
    await sluice.check({ k: 'a' });
    expect((await sluice.check({ k: 'a' })).allowed).toBe(false);
    await sluice.record({ k: 'a' }, { status: 200 });
    expect((await sluice.check({ k: 'a' })).allowed).toBe(true);
  });
});

/** A store that fails on demand, to exercise the fallback path. */
class FlakyStore implements Store {
  readonly name = 'flaky';
  failing = false;
  private readonly inner = new MemoryStore();
  apply(ops: readonly TxOp[], now: number): Promise<OpResult[]> {
    return this.failing ? Promise.reject(new Error('connection refused')) : Promise.resolve(this.inner.apply(ops, now));
  }
  setOverride = this.inner.setOverride.bind(this.inner);
  deleteOverride = this.inner.deleteOverride.bind(this.inner);
  listOverrides = this.inner.listOverrides.bind(this.inner);
  setAttributes = this.inner.setAttributes.bind(this.inner);
  getAttributes = this.inner.getAttributes.bind(this.inner);
  reset = this.inner.reset.bind(this.inner);
  size = this.inner.size.bind(this.inner);
  ping = this.inner.ping.bind(this.inner);
  close = this.inner.close.bind(this.inner);
}

describe('when the store fails', () => {
  const policy = {
    rules: [
      { name: 'open-rule', key: 'k', limit: '2/1m', on_store_error: 'open' },
      { name: 'closed-rule', key: 'k', match: { api: 'payments' }, limit: '100/1m', on_store_error: 'closed' },
    ],
  };

  it('fails open through a local limiter with the same rule, and closed with 503', async () => {
    const store = new FlakyStore();
    const errors: unknown[] = [];
    // The breaker stays closed here (see test/engine/outage.test.ts): every check tries the store.
    const sluice = await Sluice.open({ policy, store, clock: manualClock().now, onStoreError: (e) => errors.push(e), breaker: { failures: 100 } });
    store.failing = true;
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await sluice.check({ k: 'a' }));
    expect(results.map((d) => d.allowed)).toEqual([true, true, false]); // the stand-in still limits
    expect(results[0].rules[0].fallback).toBe(true);
    const closed = await sluice.check({ k: 'b', api: 'payments' });
    expect(closed).toMatchObject({ allowed: false, status: 503, code: 'store_unavailable', rule: 'closed-rule' });
    expect(sluice.counters).toMatchObject({ storeErrors: 4, closedDecisions: 1 });
    expect(errors).toHaveLength(4);
    store.failing = false;
    expect((await sluice.check({ k: 'b', api: 'payments' })).allowed).toBe(true);
  });
});

describe('the memory store', () => {
  it('stays within its bound, evicting the least recently used key', () => {
    const store = new MemoryStore({ maxKeys: 3 });
    const op = (key: string): TxOp => ({ key, tag: key, algorithm: 'gcra', params: { limit: 1, windowMs: 60_000 }, cost: 1, mode: 'take', shadow: false, chargeRejected: false, blockMs: 0, blockOnly: false });
    for (const k of ['a', 'b', 'c']) store.apply([op(k)], 1000);
    store.apply([op('a')], 1001); // touch a (refused, but read)… reads don't reorder; a write does:
    store.write({ key: 'a' }, [61_000], 61_000);
    store.apply([op('d')], 1002);
    expect(store.keyCount).toBe(3);
    expect(store.holds({ key: 'b' })).toBe(false); // b was least recently used (all three at their limit)
    expect(store.holds({ key: 'a' })).toBe(true);
    expect(store.read({ key: 'b' })).toEqual([61_000]); // what b leaves: it starts from its own state again
  });

  it('expires idle keys without timers as later writes pass by', () => {
    const store = new MemoryStore();
    const op = (key: string): TxOp => ({ key, tag: key, algorithm: 'fixed-window', params: { limit: 5, windowMs: 1000 }, cost: 1, mode: 'take', shadow: false, chargeRejected: false, blockMs: 0, blockOnly: false });
    for (let i = 0; i < 100; i++) store.apply([op(`k${i}`)], 0);
    expect(store.keyCount).toBe(100);
    // Each write looks at the two least recently used keys: 60 writes clear the 100 idle ones.
    for (let i = 0; i < 60; i++) store.apply([op(`live${i}`)], 5000 + i);
    expect(store.keyCount).toBe(60);
  });

  it('keeps states of every shape intact', () => {
    const store = new MemoryStore();
    store.write({ key: 'one' }, [1.5], 10_000);
    store.write({ key: 'three' }, [1, 2, 3], 10_000);
    store.write({ key: 'long' }, [1, 2, 3, 4, 5, 6], 10_000);
    store.write({ key: 'one' }, [7, 8, 9, 10], 10_000); // grows from fixed to variable
    expect(store.read({ key: 'one' })).toEqual([7, 8, 9, 10]);
    expect(store.read({ key: 'three' })).toEqual([1, 2, 3]);
    expect(store.read({ key: 'long' })).toEqual([1, 2, 3, 4, 5, 6]);
    store.write({ key: 'long' }, [4], 10_000);
    expect(store.read({ key: 'long' })).toEqual([4]);
  });
});
