import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { Sluice } from '../../src/engine/sluice.js';
import { MemoryStore } from '../../src/stores/memory.js';
import type { OpResult, TxOp } from '../../src/stores/store.js';
import { manualClock } from '../helpers/clock.js';

/** The same store with its apply watched: every check then takes the general path. */
class GeneralPath extends MemoryStore {
  override apply(ops: readonly TxOp[], now: number): OpResult[] {
    return super.apply(ops, now);
  }
}

/**
 * Memory is bounded by the live keys, not by the keys seen: a long-lived key at the LRU
 * tail (seed picky-assist's 8-hour signup limit) used to shield every expired key behind
 * it from the sweep, so a replay of 10^7 lines grew to 1.5 GiB.
 */
describe('the memory store drops expired keys behind a long-lived one', () => {
  for (const algorithm of ['sliding-log', 'fixed-window', 'gcra'] as const) {
    for (const [path, make] of [
      ['in place', () => new MemoryStore()],
      ['general path', () => new GeneralPath()],
    ] as const) {
      it(`${algorithm}, ${path}: 10^5 expired keys behind an 8-hour one are gone once new keys come`, () => {
        const policy = {
          rules: [
            { name: 'signup', key: 'ip', limit: '2/8h', algorithm: 'sliding-log' as const, match: { route: 'signup' } },
            { name: 'api', key: 'account', limit: '5/1s', algorithm },
          ],
        };
        const clock = manualClock();
        const store = make();
        const sluice = Sluice.openSync({ policy, store, clock: clock.now });
        expect(sluice.checkSync({ route: 'signup', ip: '10.0.0.1' }).allowed).toBe(true); // the oldest key, at the tail
        for (let i = 0; i < 100_000; i++) sluice.checkSync({ account: `old-${i}` });
        expect(store.keyCount).toBe(100_001);
        clock.advance(5_000); // every "old" key has expired; the signup key lives on
        for (let i = 0; i < 30_000; i++) sluice.checkSync({ account: `new-${i}` });
        // The old code kept all 130,001: the sweep stopped at the signup key.
        expect(store.keyCount).toBeLessThan(30_000 + 1 + 1_000);
        expect(sluice.checkSync({ route: 'signup', ip: '10.0.0.1' }).allowed).toBe(true); // the live key is kept, and counts
        expect(sluice.checkSync({ route: 'signup', ip: '10.0.0.1' }).allowed).toBe(false);
      });
    }
  }

  it('under steady traffic of short-lived keys, keys held stay near the live ones (not the keys seen)', async () => {
    const policy = {
      rules: [
        { name: 'signup', key: 'ip', limit: '2/8h', match: { route: 'signup' } },
        { name: 'api', key: 'account', limit: '5/1s' },
      ],
    };
    const clock = manualClock();
    const store = new MemoryStore();
    const sluice = Sluice.openSync({ policy, store, clock: clock.now });
    sluice.checkSync({ route: 'signup', ip: '10.0.0.1' });
    let most = 0;
    let live = 0;
    // A new account every ms, each living 1–2 s (expiry is kept in whole seconds): about 2,300 live at any time, 200,000 seen.
    for (let i = 0; i < 200_000; i++) {
      clock.advance(1);
      sluice.checkSync({ account: `a-${i}` });
      if (i % 7 === 0) sluice.checkSync({ account: `a-${i >> 1}` }); // some come back
      most = Math.max(most, store.keyCount);
      if (i % 997 === 0) live = Math.max(live, await store.size(clock.now()));
    }
    expect(live).toBeGreaterThan(1_000);
    // The old code held every key seen (over 200,000): the sweep stopped at the signup key.
    expect(most).toBeLessThan(1.5 * live);
  });
});

describe('the memory store keeps only its keys\' own text', () => {
  it('a key value sliced from a large string (a log chunk) does not keep the string alive', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const store = new MemoryStore();
    const sluice = Sluice.openSync({ policy: { rules: [{ name: 'r', key: 'contact', limit: '5/1h' }] }, store });
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 500; i++) {
      // A 200 kB "chunk" per key, each read as the simulator reads a log: the value is a slice of it.
      const chunk = `${'x'.repeat(100_000)} contact-${String(i).padStart(12, '0')} ${'y'.repeat(100_000)}`;
      const at = chunk.indexOf('contact-');
      sluice.checkSync({ contact: chunk.slice(at, at + 20) });
    }
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    // The old store kept every chunk (500 × 200 kB = 100 MB); the keys themselves take a few tens of kB.
    expect(store.keyCount).toBe(500);
    expect(grown).toBeLessThan(10_000_000);
  });
});
