import { describe, expect, it } from 'vitest';
import { RefusedCache } from '../../src/engine/refused-cache.js';
import { MemoryStore } from '../../src/stores/memory.js';
import type { OpResult, TxOp } from '../../src/stores/store.js';
import { fixedWindowOp } from './support.js';

/**
 * The refused cache (src/engine/refused-cache.ts): what does NOT forget a refusal, and that its
 * index of state keys holds nothing once its entries are gone. Fixed window 2 per 1000 ms:
 * r|a used up at t = 1000, refused at 1100 until 2000.
 */
class CountingStore extends MemoryStore {
  calls = 0;
  override apply(ops: readonly TxOp[], now: number): OpResult[] {
    this.calls++;
    return super.apply(ops, now);
  }
}
const op = (over: Partial<TxOp> = {}) => fixedWindowOp({ limit: 2, windowMs: 1000 }, over);
function refusedAt1100() {
  const inner = new CountingStore();
  const cache = new RefusedCache(inner);
  for (const t of [1000, 1000, 1100]) cache.apply([op()], t);
  return { inner, cache };
}
/** The cache's index of state keys (private: nothing public says it is emptied). */
const indexed = (cache: RefusedCache) => (cache as unknown as { byKey: Map<string, Set<string>> }).byKey;

describe('refused cache: what leaves a refusal in place', () => {
  it('a peek, or a wider transaction of takes, of the key writes nothing: the refusal stays', () => {
    for (const tx of [[op({ mode: 'peek' })], [op(), op({ key: 'r|b', tag: 'b' })], [op({ cost: 2 })]]) {
      const { inner, cache } = refusedAt1100();
      cache.apply(tx, 1150);
      expect(cache.entryCount).toBe(1);
      const calls = inner.calls;
      expect((cache.apply([op()], 1200) as OpResult[])[0]).toMatchObject({ allowed: false, retryAfterMs: 800 });
      expect(inner.calls).toBe(calls);
    }
  });
});

describe('refused cache: the key of an entry', () => {
  it('two bursts are two entries; so are two bucket counts, and two block keys', () => {
    for (const [a, b] of [
      [{ burst: 1 }, { burst: 2 }],
      [{ buckets: 2 }, { buckets: 4 }],
    ]) {
      const inner = new CountingStore();
      const cache = new RefusedCache(inner);
      const first = op({ params: { limit: 2, windowMs: 1000, ...a } });
      for (const t of [1000, 1000, 1100]) cache.apply([first], t);
      cache.apply([op({ params: { limit: 2, windowMs: 1000, ...b } })], 1200);
      expect([a, inner.calls, cache.entryCount]).toEqual([a, 4, 2]);
    }
    const inner = new CountingStore();
    const cache = new RefusedCache(inner);
    const blocked = (blockKey: string) => op({ blockKey, blockMs: 500 });
    for (const t of [1000, 1000, 1100]) cache.apply([blocked('r!b|a')], t);
    cache.apply([blocked('r!b|x')], 1200);
    expect([inner.calls, cache.entryCount]).toEqual([4, 2]);
  });
});

describe('refused cache: its index of state keys', () => {
  it('is empty once every entry is gone: expired, dropped for room, forgotten, cleared', async () => {
    const { cache } = refusedAt1100();
    expect([...indexed(cache).keys()]).toEqual(['r|a']);
    cache.apply([op()], 2000); // expired: asked again, admitted
    expect(indexed(cache).size).toBe(0);

    const small = new RefusedCache(new CountingStore(), { maxEntries: 1 });
    for (const k of ['r|a', 'r|b']) for (const t of [1000, 1000, 1100]) small.apply([op({ key: k })], t);
    expect([...indexed(small).keys()]).toEqual(['r|b']);

    const two = refusedAt1100().cache;
    for (const t of [1100, 1100, 1100]) two.apply([op({ params: { limit: 1, windowMs: 1000 } })], t);
    expect([...indexed(two).get('r|a')!].length).toBe(2);
    two.apply([op()], 2000); // one of the two entries on r|a expires
    expect([...indexed(two).get('r|a')!].length).toBe(1);
    await two.reset(['r|a']);
    expect(indexed(two).size).toBe(0);
  });
});

describe('refused cache: a reload carry-over over a store that rewrites synchronously', () => {
  it('refuses a rewrite that looks limits up asynchronously, saying why', async () => {
    const { cache } = refusedAt1100();
    await expect(cache.rewriteStatesAsync('r', async (state) => ({ state: [...state], expiresAt: 5000 }), 1150)).rejects.toThrow(
      'refused cache: a rewrite that looks limits up asynchronously cannot run over a store that rewrites synchronously',
    );
  });
});
