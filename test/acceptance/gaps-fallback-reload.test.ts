/**
 * A policy reload while the shared store is down: the fail-open fallback (src/engine/fallback.ts)
 * must go on deciding each key with the limit the store gives it — a run-time override (admin
 * API), a scale attribute only the store holds — under the new policy, as the store will. Before,
 * it knew only what the store last answered and the file: a key throttled to 30/1m by a run-time
 * override got 15 more calls when a reload turned its rule into GCRA (its local state carried with
 * the rule's 60/1m); a limit lowered by the reload was not lowered for keys seen in the last
 * minute (the old limit was taken for a store-side one), nor rescaled for scaled tenants.
 * On the engine (the library's front door) with an injected clock and a store made to fail.
 */
import { describe, expect, it } from 'vitest';
import { Sluice } from '../../src/engine/sluice.js';
import { loadPolicy } from '../../src/policy/load.js';
import type { OpResult, TxOp } from '../../src/stores/store.js';
import { manualClock } from '../helpers/clock.js';
import { MemoryBackedStore } from '../helpers/memory-backed-store.js';

/** A memory store that can be made to refuse every call, as a Redis that is down. */
class FailingStore extends MemoryBackedStore {
  readonly name = 'failing';
  down = false;
  apply(ops: readonly TxOp[], now: number): Promise<OpResult[]> {
    return this.down ? Promise.reject(new Error('connection refused')) : Promise.resolve(this.inner.apply(ops, now));
  }
}

function policy(rule: Record<string, unknown>) {
  return loadPolicy({ rules: [{ name: 'r', key: 'k', on_store_error: 'open', ...rule }] } as Parameters<typeof loadPolicy>[0]);
}

async function admitted(sluice: Sluice, k: string, max: number): Promise<number> {
  let n = 0;
  for (let i = 0; i < max; i++) if ((await sluice.check({ k })).allowed) n++;
  return n;
}

async function open(rule: Record<string, unknown>) {
  const clock = manualClock();
  const store = new FailingStore();
  const sluice = await Sluice.open({ policy: policy(rule), store, clock: clock.now });
  return { clock, store, sluice };
}

describe('a reload during an outage keeps each key\'s limit on the fallback as on the store', () => {
  it('a 30/1m run-time override on a 60/1m rule stays 30/1m through sliding-log → gcra', async () => {
    const { store, sluice } = await open({ limit: '60/1m', algorithm: 'sliding-log' });
    await store.setOverride({ key: 'r|abuser', rule: 'r', keyValues: { k: 'abuser' }, limit: 30, windowMs: 60_000 });
    expect(await admitted(sluice, 'abuser', 1)).toBe(1); // the store answers: 30/1m
    store.down = true;
    expect(await admitted(sluice, 'abuser', 40)).toBe(29);
    sluice.setPolicy(policy({ limit: '60/1m', algorithm: 'gcra' }));
    expect(await admitted(sluice, 'abuser', 40)).toBe(0); // before: 15 (carried as 30 of 60)
    await sluice.close();
  });

  it('a limit the reload lowers (20/1m → 10/1m) is lowered for a key the store answered for a moment ago', async () => {
    const { store, sluice } = await open({ limit: '20/1m', algorithm: 'sliding-log' });
    expect(await admitted(sluice, 'a', 1)).toBe(1);
    store.down = true;
    sluice.setPolicy(policy({ limit: '10/1m', algorithm: 'sliding-log' }));
    expect(await admitted(sluice, 'a', 30)).toBe(9); // before: 19, the old 20 taken for the store's own
    await sluice.close();
  });

  it('a tenant scaled by an attribute only the store holds is rescaled by the reload (10/1m × 4 → 5/1m × 4)', async () => {
    const scale = { attribute: 'agents', of: 'k', default: 1 };
    const { store, sluice } = await open({ limit: '10/1m', algorithm: 'sliding-log', scale });
    await store.setAttributes('k:acme', { agents: 4 }); // what PUT /v1/admin/attributes/k/acme sets
    expect(await admitted(sluice, 'acme', 1)).toBe(1); // the store answers: 40/1m
    store.down = true;
    sluice.setPolicy(policy({ limit: '5/1m', algorithm: 'sliding-log', scale }));
    expect(await admitted(sluice, 'acme', 50)).toBe(19); // the store's 5 × 4; before: 39
    await sluice.close();
  });

  it('and the same key keeps its run-time override through a reload that changes the rule\'s limit', async () => {
    const { store, sluice } = await open({ limit: '60/1m', algorithm: 'sliding-log' });
    await store.setOverride({ key: 'r|vip', rule: 'r', keyValues: { k: 'vip' }, limit: 100, windowMs: 60_000 });
    expect(await admitted(sluice, 'vip', 1)).toBe(1);
    store.down = true;
    sluice.setPolicy(policy({ limit: '10/1m', algorithm: 'sliding-log' }));
    expect(await admitted(sluice, 'vip', 120)).toBe(99);
    await sluice.close();
  });
});
