import { describe, expect, it } from 'vitest';
import { RefusedCache } from '../../src/engine/refused-cache.js';
import { MemoryStore } from '../../src/stores/memory.js';
import type { AsyncStateRewrite, OpResult, StateRewrite, TxOp } from '../../src/stores/store.js';
import { fixedWindowOp } from './support.js';

/**
 * The refused cache (src/engine/refused-cache.ts) in front of a real MemoryStore that counts
 * the transactions it is asked: which refusals are remembered, for how long, what is replayed,
 * and what forgets them. Expected figures from the fixed window's definition: limit 2 per
 * 1000 ms, the window [1000, 2000) at t = 1000; a third take at t = 1100 is refused until the
 * window ends, 900 ms later.
 */
class CountingStore extends MemoryStore {
  calls = 0;
  private listeners: ((keys: readonly string[] | 'all') => void)[] = [];
  override apply(ops: readonly TxOp[], now: number): OpResult[] {
    this.calls++;
    return super.apply(ops, now);
  }
  /** Another instance's override or reset, as a shared store announces it. */
  announce(keys: readonly string[] | 'all'): void {
    for (const l of this.listeners) l(keys);
  }
  onInvalidate(listener: (keys: readonly string[] | 'all') => void): () => void {
    this.listeners.push(listener);
    return () => (this.listeners = this.listeners.filter((l) => l !== listener));
  }
  get listening(): number {
    return this.listeners.length;
  }
}

const P = { limit: 2, windowMs: 1000 };
const op = (over: Partial<TxOp> = {}) => fixedWindowOp(P, over);

/** A cache over a counting store with key r|a used up at t = 1000 and refused at t = 1100 (remembered). */
function refusedAt1100(opts?: { maxEntries?: number }) {
  const inner = new CountingStore();
  const cache = new RefusedCache(inner, opts);
  cache.apply([op()], 1000);
  cache.apply([op()], 1000);
  const r = cache.apply([op()], 1100) as OpResult[];
  return { inner, cache, r };
}

describe('refused cache: what is remembered and replayed', () => {
  it('a refusal is answered in process until its retry-after, counted down; the store is asked again at the end', () => {
    const { inner, cache, r } = refusedAt1100();
    expect(r[0]).toMatchObject({ allowed: false, remaining: 0, resetMs: 900, retryAfterMs: 900 });
    expect([inner.calls, cache.entryCount, cache.stats.remembered, cache.stats.hits]).toEqual([3, 1, 1, 0]);
    // The same instant again: a hit (now >= at).
    expect((cache.apply([op()], 1100) as OpResult[])[0]).toMatchObject({ allowed: false, resetMs: 900, retryAfterMs: 900 });
    // 400 ms later: 500 ms left.
    expect(cache.apply([op()], 1500)).toEqual([{ allowed: false, blocked: false, limit: 2, windowMs: 1000, remaining: 0, resetMs: 500, retryAfterMs: 500 }]);
    // The last millisecond before the window ends (until = 1100 + 900 = 2000).
    expect((cache.apply([op()], 1999) as OpResult[])[0]).toMatchObject({ allowed: false, resetMs: 1, retryAfterMs: 1 });
    expect([inner.calls, cache.stats.hits]).toEqual([3, 3]);
    // At 2000 the store decides: a new window, admitted; nothing is remembered of an admission.
    expect((cache.apply([op()], 2000) as OpResult[])[0]).toMatchObject({ allowed: true, remaining: 1 });
    expect([inner.calls, cache.entryCount, cache.stats.remembered]).toEqual([4, 0, 1]);
  });

  it('a clock that stepped back before the refusal asks the store again', () => {
    const { inner, cache } = refusedAt1100();
    expect((cache.apply([op()], 1099) as OpResult[])[0]).toMatchObject({ allowed: false, retryAfterMs: 901 });
    expect([inner.calls, cache.stats.hits]).toEqual([4, 0]);
  });

  it('a refusal through an asynchronous store is remembered as well', async () => {
    const inner = new CountingStore();
    const slow = Object.assign(Object.create(inner) as CountingStore, { apply: (ops: readonly TxOp[], now: number) => Promise.resolve(inner.apply(ops, now)) });
    const cache = new RefusedCache(slow);
    for (const t of [1000, 1000]) await cache.apply([op()], t);
    expect((await cache.apply([op()], 1100))[0].allowed).toBe(false);
    expect(cache.entryCount).toBe(1);
    expect((cache.apply([op()], 1200) as OpResult[])[0]).toMatchObject({ allowed: false, retryAfterMs: 800 });
    expect(inner.calls).toBe(3);
  });

  it('admissions are never remembered', () => {
    const inner = new CountingStore();
    const cache = new RefusedCache(inner);
    cache.apply([op()], 1000);
    cache.apply([op()], 1000);
    expect([inner.calls, cache.entryCount, cache.stats.remembered]).toEqual([2, 0, 0]);
  });

  it('a block penalty is remembered until the block ends (3000 ms from the trip)', () => {
    const inner = new CountingStore();
    const cache = new RefusedCache(inner);
    const b = op({ blockKey: 'r!b|a', blockMs: 3000 });
    cache.apply([b], 1000);
    cache.apply([b], 1000);
    expect((cache.apply([b], 1000) as OpResult[])[0]).toMatchObject({ allowed: false, blocked: true, remaining: 0, retryAfterMs: 3000 });
    expect((cache.apply([b], 3999) as OpResult[])[0]).toMatchObject({ blocked: true, remaining: 0, retryAfterMs: 1, resetMs: 1 });
    expect(inner.calls).toBe(3);
    cache.apply([b], 4000);
    expect(inner.calls).toBe(4);
  });

  it('a zero limit (refused a whole window, 1000 ms) is remembered for that window', () => {
    const inner = new CountingStore();
    const cache = new RefusedCache(inner);
    const z = fixedWindowOp({ limit: 0, windowMs: 1000 });
    expect((cache.apply([z], 1000) as OpResult[])[0]).toMatchObject({ allowed: false, retryAfterMs: 1000 });
    cache.apply([z], 1999);
    expect([inner.calls, cache.entryCount]).toEqual([1, 1]);
  });

  it('transactions whose refusal may write, or whose figures move, are not cached', () => {
    const cases: [string, TxOp[]][] = [
      ['two ops', [op(), op({ key: 'r|b', tag: 'b' })]],
      ['cost 2', [op({ cost: 2 })]],
      ['peek', [op({ mode: 'peek' })]],
      ['shadow', [op({ shadow: true })]],
      ['chargeRejected', [op({ chargeRejected: true })]],
      ['blockOnly', [op({ blockOnly: true, blockKey: 'r!b|a', blockMs: 1000 })]],
      ['concurrency', [op({ algorithm: 'concurrency', params: { limit: 0, windowMs: 1000 } })]],
    ];
    for (const [what, tx] of cases) {
      const inner = new CountingStore();
      const cache = new RefusedCache(inner);
      // Use the key up (and r|b) with plain takes at t = 1000, which are not remembered (admitted).
      for (let i = 0; i < 2; i++) {
        cache.apply([op()], 1000);
        cache.apply([op({ key: 'r|b', tag: 'b' })], 1000);
      }
      cache.apply(tx, 1100);
      cache.apply(tx, 1100);
      expect([what, cache.entryCount, inner.calls]).toEqual([what, 0, 6]);
    }
  });

  it('the same key under other figures is another entry: limit, window, burst, buckets, algorithm, override, block, scale', () => {
    const variants: Partial<TxOp>[] = [
      { params: { limit: 3, windowMs: 1000 } },
      { params: { limit: 2, windowMs: 2000 } },
      { params: { limit: 2, windowMs: 1000, burst: 1 } },
      { params: { limit: 2, windowMs: 1000, buckets: 4 } },
      { algorithm: 'sliding-log' },
      { override: { limit: 5, windowMs: 1000 } },
      { override: { limit: 2, windowMs: 3000 } },
      { blockKey: 'r!b|a', blockMs: 0 },
      { blockMs: 1 },
      { scale: { entity: 'tenant', attribute: 'seats', fallback: 1 } },
      { scale: { entity: 'tenant', attribute: 'other', fallback: 1 } },
      { scale: { entity: 'tenant', attribute: 'seats', fallback: 2 } },
      { scale: { entity: 'team', attribute: 'seats', fallback: 1 } },
      { key: 'r|b' },
    ];
    for (const v of variants) {
      const { inner, cache } = refusedAt1100();
      cache.apply([op(v)], 1200);
      expect([v, inner.calls]).toEqual([v, 4]);
    }
    // Two scaled ops alike are one entry.
    const { inner, cache } = refusedAt1100();
    const scaled = op({ scale: { entity: 'tenant', attribute: 'seats', fallback: 1 } });
    cache.apply([scaled], 1200);
    cache.apply([scaled], 1200);
    expect(inner.calls).toBe(4);
  });

  it('holds at most maxEntries (at least 1), dropping the oldest first', () => {
    const fill = (cache: RefusedCache, keys: string[]) => {
      for (const k of keys) for (const t of [1000, 1000, 1100]) cache.apply([op({ key: k })], t);
    };
    const two = new RefusedCache(new CountingStore(), { maxEntries: 2 });
    fill(two, ['a', 'b']);
    expect(two.entryCount).toBe(2);
    fill(two, ['c']);
    expect(two.entryCount).toBe(2);
    const inner = two.inner as CountingStore;
    const before = inner.calls;
    // c's entry dropped a's (the oldest); a asked again is remembered again, dropping b; c is kept.
    two.apply([op({ key: 'a' })], 1200);
    two.apply([op({ key: 'c' })], 1200);
    two.apply([op({ key: 'b' })], 1200);
    expect(inner.calls - before).toBe(2);
    const zero = new RefusedCache(new CountingStore(), { maxEntries: 0 });
    fill(zero, ['a', 'b']);
    expect(zero.entryCount).toBe(1);
    const dflt = new RefusedCache(new CountingStore());
    fill(dflt, ['a', 'b', 'c']);
    expect(dflt.entryCount).toBe(3);
  });
});

describe('refused cache: what forgets a refusal', () => {
  /** After `act`, the next take of r|a goes to the store (and finds what the act left). */
  async function forgets(act: (cache: RefusedCache, inner: CountingStore) => unknown): Promise<RefusedCache> {
    const { inner, cache } = refusedAt1100();
    await act(cache, inner);
    expect(cache.entryCount).toBe(0);
    const before = inner.calls;
    cache.apply([op()], 1200);
    expect(inner.calls).toBe(before + 1);
    return cache;
  }

  it('a refund of the key: the next take is admitted by the store', async () => {
    const cache = await forgets((c) => c.apply([op({ mode: 'refund' })], 1150));
    expect(cache.entryCount).toBe(0);
  });

  it('a forced record of the key', async () => {
    await forgets((c) => c.apply([op({ mode: 'force' })], 1150));
  });

  it('a refund or record of another key forgets nothing', () => {
    for (const mode of ['refund', 'force'] as const) {
      const { cache } = refusedAt1100();
      cache.apply([op({ key: 'r|b', tag: 'b', mode })], 1150);
      expect(cache.entryCount).toBe(1);
    }
  });

  it('an override set or deleted, a reset of the key; their answers pass through', async () => {
    await forgets((c) => c.setOverride({ key: 'r|a', rule: 'r', keyValues: { k: 'a' }, limit: 10, windowMs: 1000 }));
    await forgets(async (c) => {
      await c.setOverride({ key: 'r|b', rule: 'r', keyValues: { k: 'b' }, limit: 10, windowMs: 1000 });
      expect(c.entryCount).toBe(1); // another key's override
      expect(await c.listOverrides()).toHaveLength(1);
      expect(await c.listOverrides(0)).toHaveLength(1);
      expect(await c.deleteOverride('r|a')).toBe(false);
      expect(await c.deleteOverride('r|b')).toBe(true);
    });
    await forgets(async (c) => expect(await c.reset(['r|a'])).toBe(1));
  });

  it('two entries on one state key (two rule shapes) are both forgotten by its reset', async () => {
    const { cache } = refusedAt1100();
    for (const t of [1100, 1100, 1100]) cache.apply([op({ params: { limit: 1, windowMs: 1000 } })], t);
    expect(cache.entryCount).toBe(2);
    expect(await cache.reset(['r|b'])).toBe(0);
    expect(cache.entryCount).toBe(2);
    await cache.reset(['r|a']);
    expect(cache.entryCount).toBe(0);
  });

  it('attributes changed, a reload carry-over, another instance saying so, a close', async () => {
    await forgets(async (c) => {
      await c.setAttributes('tenant:x', { seats: 3 });
      expect(await c.getAttributes('tenant:x')).toEqual({ seats: 3 });
    });
    await forgets(async (c) => {
      const keep: AsyncStateRewrite = (state) => ({ state: [...state], expiresAt: 5000 });
      expect(await c.rewriteStatesAsync('r', keep, 1150)).toBe(1);
    });
    await forgets((_c, inner) => inner.announce(['r|a']));
    await forgets((_c, inner) => inner.announce('all'));
    const { inner, cache } = refusedAt1100();
    inner.announce(['r|b']);
    expect(cache.entryCount).toBe(1);
    expect(inner.listening).toBe(1);
    expect(await cache.size(1100)).toBe(1);
    await cache.ping();
    await cache.close();
    expect([inner.listening, cache.entryCount]).toEqual([0, 0]);
  });

  it('a carry-over through a store that rewrites only asynchronously', async () => {
    /** A store with only the asynchronous rewrite (as Redis), which says it rewrote 10 more than memory did. */
    class AsyncRewrite extends MemoryStore {
      constructor() {
        super();
        Object.defineProperty(this, 'rewriteStates', { value: undefined });
      }
      rewriteStatesAsync(ns: string, rw: StateRewrite): Promise<number> {
        return Promise.resolve(MemoryStore.prototype.rewriteStates.call(this, ns, rw) + 10);
      }
    }
    const asyncOnly = new AsyncRewrite();
    const cache = new RefusedCache(asyncOnly);
    for (const t of [1000, 1000, 1100]) cache.apply([op()], t);
    expect(await cache.rewriteStatesAsync('r', (s) => ({ state: [...s], expiresAt: 5000 }), 1150)).toBe(11);
    expect(cache.entryCount).toBe(0);
    const bare = new MemoryStore();
    Object.defineProperty(bare, 'rewriteStates', { value: undefined });
    const neither = new RefusedCache(bare);
    expect(await neither.rewriteStatesAsync('r', () => ({ state: null, expiresAt: 0 }), 0)).toBe(0);
  });

  it('keeps the inner store’s name and reads its states', () => {
    const inner = new MemoryStore();
    const cache = new RefusedCache(inner);
    expect(cache.name).toBe('memory');
    inner.apply([op()], 1000);
    expect(cache.readStates).toBeDefined();
  });
});
