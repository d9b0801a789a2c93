import { describe, expect, it } from 'vitest';
import { Sluice } from '../../src/engine/sluice.js';
import type { Decision } from '../../src/engine/decision.js';
import { loadPolicy } from '../../src/policy/load.js';
import { MemoryStore } from '../../src/stores/memory.js';

/**
 * A reload whose states are carried over asynchronously (as Redis does: SCAN, then a
 * compare-and-set per state, src/engine/sluice.ts setPolicy): every decision made meanwhile
 * waits for it, so none reads a state in the old shape; a failed carry-over is reported and
 * decisions go on. Each rewrite is released by hand, so what waits is exact, not timed.
 */
class AsyncRewrite extends MemoryStore {
  /** One per rewrite asked for, in order: settle it to end that rewrite. */
  readonly rewrites: { ns: string; release: () => void; fail: (e: unknown) => void }[] = [];
  constructor() {
    super();
    Object.defineProperty(this, 'rewriteStates', { value: undefined });
  }
  // A fixed window's count does not depend on its limit: the states are kept as they are, nothing to rewrite.
  rewriteStatesAsync(ns: string): Promise<number> {
    return new Promise((resolve, reject) => this.rewrites.push({ ns, release: () => resolve(0), fail: reject }));
  }
}

const policyOf = (limit: string) => loadPolicy({ rules: [{ name: 'r', key: 'user', limit, algorithm: 'fixed-window' }] });
/** Lets every pending promise job and I/O callback run: what has not settled by then is waiting on something. */
const settle = () => new Promise<void>((r) => setImmediate(r));

/** Whether a promise has settled, by the time pending jobs have run. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  await settle();
  return done;
}

describe('an asynchronous carry-over', () => {
  it('check, record, refund and peek wait for it, then decide under the new policy', async () => {
    const store = new AsyncRewrite();
    const sluice = Sluice.openSync({ policy: policyOf('2/1m'), store, refusedCache: false, clock: () => 10_000 });
    expect((await sluice.check({ user: 'u' })).remaining).toBe(1);
    const changes = sluice.setPolicy(policyOf('5/1m'));
    expect(changes.map((c) => c.rule)).toEqual(['r']);
    const check = sluice.check({ user: 'u' });
    const record = sluice.record({ user: 'u' }, { status: 200 });
    const refund = sluice.refund({ user: 'u' });
    const peek = sluice.peek({ user: 'u' });
    expect(await Promise.all([check, record, refund, peek].map(settled))).toEqual([false, false, false, false]);
    expect(store.rewrites.map((r) => r.ns)).toEqual(['r']);
    store.rewrites[0].release();
    const d: Decision = await check;
    // The state carried over (1 used) under the new limit 5, then this check: 2 used.
    expect([d.allowed, d.limit, d.remaining]).toEqual([true, 5, 3]);
    expect((await record).rules).toEqual([]);
    expect((await refund).rules.map((r) => [r.name, r.remaining])).toEqual([['r', 4]]);
    const [p] = await peek;
    expect([p.usage.limit, p.usage.remaining]).toEqual([5, 4]);
    // Carried over: the next check is answered without waiting for anything.
    expect(await settled(sluice.check({ user: 'u' }))).toBe(true);
  });

  it('a second reload before the first is carried over: decisions wait for the second too', async () => {
    const store = new AsyncRewrite();
    const sluice = Sluice.openSync({ policy: policyOf('2/1m'), store, refusedCache: false, clock: () => 10_000 });
    sluice.setPolicy(policyOf('5/1m'));
    sluice.setPolicy(policyOf('7/1m'));
    await settle();
    expect(store.rewrites).toHaveLength(2);
    store.rewrites[0].release();
    await settle(); // the first reload's end is handled before the check
    const check = sluice.check({ user: 'u' });
    expect(await settled(check)).toBe(false);
    store.rewrites[1].release();
    expect((await check).limit).toBe(7);
  });

  it('a second reload while the first fails: the failure does not end the wait for the second', async () => {
    const errors: unknown[] = [];
    const store = new AsyncRewrite();
    const sluice = Sluice.openSync({ policy: policyOf('2/1m'), store, refusedCache: false, clock: () => 10_000, onStoreError: (e) => errors.push(e) });
    sluice.setPolicy(policyOf('5/1m'));
    sluice.setPolicy(policyOf('7/1m'));
    await settle();
    store.rewrites[0].fail(new Error('first'));
    await settle(); // the first reload's failure is handled before the check
    const check = sluice.check({ user: 'u' });
    expect(await settled(check)).toBe(false);
    expect(errors.map((e) => (e as Error).message)).toEqual(['first']);
    store.rewrites[1].release();
    expect((await check).limit).toBe(7);
  });

  it('a failed carry-over is reported to onStoreError, and decisions go on under the new policy', async () => {
    const errors: unknown[] = [];
    const store = new AsyncRewrite();
    const sluice = Sluice.openSync({ policy: policyOf('2/1m'), store, refusedCache: false, clock: () => 10_000, onStoreError: (e) => errors.push(e) });
    sluice.setPolicy(policyOf('5/1m'));
    const check = sluice.check({ user: 'u' });
    await settle();
    const boom = new Error('SCAN failed');
    store.rewrites[0].fail(boom);
    expect((await check).limit).toBe(5);
    expect(errors).toEqual([boom]);
    expect(await settled(sluice.check({ user: 'u' }))).toBe(true);
    // Without an onStoreError a failure is dropped quietly.
    const quiet = Sluice.openSync({ policy: policyOf('2/1m'), store: new AsyncRewrite(), refusedCache: false, clock: () => 10_000 });
    quiet.setPolicy(policyOf('5/1m'));
    await settle();
    (quiet.store as AsyncRewrite).rewrites[0].fail(new Error('x'));
    expect((await quiet.check({ user: 'u' })).limit).toBe(5);
  });

  it('a reload that changes no rule’s algorithm or parameters carries nothing over and makes no decision wait', async () => {
    const store = new AsyncRewrite();
    const sluice = Sluice.openSync({ policy: policyOf('2/1m'), store, refusedCache: false, clock: () => 10_000 });
    expect(sluice.setPolicy(policyOf('2/1m'))).toEqual([]);
    expect(store.rewrites).toEqual([]);
    expect(await settled(sluice.check({ user: 'u' }))).toBe(true);
  });

  it('a store that rewrites neither way: nothing is carried, nothing fails, no decision waits', async () => {
    const errors: unknown[] = [];
    const store = new MemoryStore();
    Object.defineProperty(store, 'rewriteStates', { value: undefined });
    const sluice = Sluice.openSync({ policy: policyOf('2/1m'), store, refusedCache: false, clock: () => 10_000, onStoreError: (e) => errors.push(e) });
    expect(sluice.setPolicy(policyOf('5/1m')).map((c) => c.rule)).toEqual(['r']);
    expect(await settled(sluice.check({ user: 'u' }))).toBe(true);
    await settle();
    expect(errors).toEqual([]);
  });

  it('a store that rewrites synchronously (memory) is rewritten at once: a log of 3 spread over the window becomes a count of 3', () => {
    let now = 10_000;
    const log = loadPolicy({ rules: [{ name: 'r', key: 'user', limit: '5/1s', algorithm: 'sliding-log' }] });
    const fixed = loadPolicy({ rules: [{ name: 'r', key: 'user', limit: '4/1s', algorithm: 'fixed-window' }] });
    const sluice = Sluice.openSync({ policy: log, clock: () => now });
    for (const t of [10_000, 10_300, 10_600]) {
      now = t;
      sluice.checkSync({ user: 'u' });
    }
    now = 10_700;
    sluice.setPolicy(fixed);
    // 3 used in the window [10000, 11000) of limit 4: one fits, then none.
    expect([sluice.checkSync({ user: 'u' }).allowed, sluice.checkSync({ user: 'u' }).allowed]).toEqual([true, false]);
  });
});
