import { describe, expect, it } from 'vitest';
import { Sluice } from '../../src/engine/sluice.js';
import { MemoryStore } from '../../src/stores/memory.js';
import type { OpResult, Store, TxOp } from '../../src/stores/store.js';
import { manualClock } from '../helpers/clock.js';

/**
 * The engine decides in place only through a store's declared capability (Store.inPlace),
 * never by recognising the memory store's class: a store that does not declare it gets
 * every decision through apply(), one that does (whatever its class) is decided in place.
 */
class Delegating implements Store {
  readonly name = 'delegating';
  readonly synchronous = true;
  transactions = 0;
  constructor(
    readonly inner: MemoryStore,
    offers: boolean,
  ) {
    if (offers) Object.defineProperty(this, 'inPlace', { get: () => inner.inPlace });
  }
  apply(ops: readonly TxOp[], now: number): OpResult[] {
    this.transactions++;
    return this.inner.apply(ops, now);
  }
  setOverride = (o: Parameters<Store['setOverride']>[0]) => this.inner.setOverride(o);
  deleteOverride = (key: string) => this.inner.deleteOverride(key);
  listOverrides = () => this.inner.listOverrides();
  setAttributes = (entity: string, attrs: Record<string, number | null>) => this.inner.setAttributes(entity, attrs);
  getAttributes = (entity: string) => this.inner.getAttributes(entity);
  reset = (keys: readonly string[]) => this.inner.reset(keys);
  size = () => this.inner.size();
  ping = () => this.inner.ping();
  close = () => this.inner.close();
}

const policy = {
  rules: [
    { name: 'log', key: 'k', limit: '3/1m', algorithm: 'sliding-log' as const },
    { name: 'pair', key: 'k', limit: '5/1m', algorithm: 'gcra' as const, match: { pair: 'yes' } },
  ],
};

function run(store: Store): { allowed: boolean[] } {
  const clock = manualClock();
  const sluice = Sluice.openSync({ policy, store, clock: clock.now });
  const allowed: boolean[] = [];
  for (let i = 0; i < 6; i++) {
    allowed.push(sluice.checkSync({ k: 'a', ...(i % 2 ? { pair: 'yes' } : {}) }).allowed);
    clock.advance(100);
  }
  return { allowed };
}

describe('the in-place capability a store declares', () => {
  it('a store that does not declare it takes the general path for every check', () => {
    const store = new Delegating(new MemoryStore(), false);
    const { allowed } = run(store);
    expect(store.transactions).toBe(6);
    expect(allowed).toEqual([true, true, true, false, false, false]);
  });

  it('a store of another class that declares it is decided in place, with the same answers', () => {
    const store = new Delegating(new MemoryStore(), true);
    const { allowed } = run(store);
    expect(store.transactions).toBe(0);
    expect(allowed).toEqual([true, true, true, false, false, false]);
  });

  it('the memory store withdraws it while its apply is replaced (a subclass, a patched instance), and offers it again after', () => {
    class Watching extends MemoryStore {
      override apply(ops: readonly TxOp[], now: number): OpResult[] {
        return super.apply(ops, now);
      }
    }
    expect(new Watching().inPlace).toBeUndefined();
    const store = new MemoryStore();
    expect(store.inPlace).toBe(store);
    const own = store.apply;
    let calls = 0;
    store.apply = (ops, now) => (calls++, own.call(store, ops, now));
    expect(store.inPlace).toBeUndefined();
    run(store);
    expect(calls).toBe(6);
    store.apply = own;
    expect(store.inPlace).toBe(store);
  });
});
