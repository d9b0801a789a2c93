import { describe, expect, it } from 'vitest';
import { Sluice } from '../../src/engine/sluice.js';
import { MemoryStore } from '../../src/stores/memory.js';
import type { OpResult, TxOp } from '../../src/stores/store.js';

/** The engine's entries and paths (src/engine/sluice.ts), each with its figures computed by hand from the rule. */

/** A memory store whose apply is its own: no in-place decisions, every check through a transaction. */
class GeneralOnly extends MemoryStore {
  override apply(ops: readonly TxOp[], now: number): OpResult[] {
    return super.apply(ops, now);
  }
}

/** A store whose apply throws (synchronously) while `down`. */
class Flaky extends MemoryStore {
  down = true;
  override apply(ops: readonly TxOp[], now: number): OpResult[] {
    if (this.down) throw new Error('store down');
    return super.apply(ops, now);
  }
}

describe('construction', () => {
  it('Sluice.open with a store spec passes maxKeys to the store it opens (room for 2 keys: 2 kept of 3)', async () => {
    const policy = { rules: [{ name: 'r', key: 'user', limit: '1/1m', algorithm: 'fixed-window' }] };
    const sluice = await Sluice.open({ policy, store: 'memory', maxKeys: 2, clock: () => 10_000 });
    for (const user of ['a', 'b', 'c']) await sluice.check({ user });
    expect(await sluice.store.size(10_000)).toBe(2);
    await sluice.close();
    const unbounded = await Sluice.open({ policy, store: 'memory', clock: () => 10_000 });
    for (const user of ['a', 'b', 'c']) await unbounded.check({ user });
    expect(await unbounded.store.size(10_000)).toBe(3);
    await unbounded.close();
  });

  it('now() is the injected clock', () => {
    let t = 1234;
    const sluice = Sluice.openSync({ policy: { rules: [{ name: 'r', limit: '1/1s' }] }, clock: () => t });
    expect(sluice.now()).toBe(1234);
    t = 99;
    expect(sluice.now()).toBe(99);
  });
});

describe('records', () => {
  it('a lone byte rule’s record charges the bytes sent; no bytes charges nothing', async () => {
    const policy = { rules: [{ name: 'q', key: 'user', limit: '100B/1m' }] };
    for (const store of [new MemoryStore(), new GeneralOnly()]) {
      const sluice = Sluice.openSync({ policy, store, clock: () => 10_000 });
      expect((await sluice.record({ user: 'u' }, { status: 200, bytes: 30 })).rules.map((r) => [r.name, r.remaining])).toEqual([['q', 70]]);
      expect((await sluice.record({ user: 'u' }, { status: 200 })).rules).toEqual([]);
      expect((await sluice.record({ user: 'u' }, { status: 200, bytes: 0 })).rules).toEqual([]);
      expect((await sluice.record({ user: 'u' }, { status: 200, bytes: 70 })).remaining).toBe(0);
    }
  });
});

describe('a store that throws', () => {
  it('check: the rules that fail closed refuse with 503 and retry 1 s, those that fail open are decided locally; the error is reported', async () => {
    const errors: unknown[] = [];
    const store = new Flaky();
    const policy = {
      rules: [
        { name: 'open', key: 'user', limit: '2/1m', algorithm: 'fixed-window', on_store_error: 'open' },
        { name: 'closed', key: 'user', limit: '3/1m', algorithm: 'fixed-window', on_store_error: 'closed' },
      ],
    };
    const sluice = Sluice.openSync({ policy, store, clock: () => 10_000, onStoreError: (e) => errors.push(e) });
    const d = await sluice.check({ user: 'u' });
    expect(d.rules.map((r) => [r.name, r.allowed, r.limit, r.remaining, r.retryAfterMs])).toEqual([
      ['open', true, 2, 1, 0],
      ['closed', false, 3, 0, 1000],
    ]);
    expect([d.allowed, d.status]).toEqual([false, 503]);
    expect(d.storeFailure).toMatchObject({ message: 'Rate-limit store unavailable (memory); refusing rules that fail closed.', handling: ['open', 'closed'], shortCircuited: false });
    expect((errors[0] as Error).message).toBe('store down');
    expect(sluice.counters).toEqual({ storeErrors: 1, fallbackDecisions: 1, closedDecisions: 1, shortCircuited: 0 });
  });
});
