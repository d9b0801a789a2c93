import { describe, expect, it } from 'vitest';
import { Sluice } from '../../src/engine/sluice.js';
import { usageNow } from '../../src/engine/usage-now.js';
import { MemoryStore } from '../../src/stores/memory.js';

/**
 * What admin inspect and the dashboard report as `used` (src/engine/usage-now.ts): the state
 * counted by the rule's algorithm under the limit and window the peek decided with, which can
 * go past the limit; limit − remaining for a store that cannot read its states.
 */
describe('usageNow', () => {
  /** A store that reads no states: not synchronous, no readStates (as a store behind a wire without that capability). */
  class Unreadable extends MemoryStore {
    constructor() {
      super();
      Object.defineProperty(this, 'synchronous', { value: false });
    }
  }

  it('counts the state itself: a charge_rejected rule hammered past its limit is used 5 of 3', async () => {
    const policy = { rules: [{ name: 'r', key: 'user', limit: '3/1m', algorithm: 'fixed-window', charge_rejected: true }] };
    const sluice = Sluice.openSync({ policy, clock: () => 10_000 });
    for (let i = 0; i < 5; i++) sluice.checkSync({ user: 'u' });
    const peeks = await sluice.peek({ user: 'u' });
    expect(peeks[0].usage.remaining).toBe(0);
    expect(await usageNow(sluice, peeks, 10_000)).toEqual([5]);
    // A key never seen has used nothing.
    expect(await usageNow(sluice, await sluice.peek({ user: 'v' }), 10_000)).toEqual([0]);
  });

  it('each peek is counted from its own key and rule, in order', async () => {
    const policy = {
      rules: [
        { name: 'a', key: 'user', limit: '10/1m', algorithm: 'fixed-window', cost: 2 },
        { name: 'b', key: 'user', limit: '10/1m', algorithm: 'fixed-window', cost: 3 },
      ],
    };
    const sluice = Sluice.openSync({ policy, clock: () => 10_000 });
    sluice.checkSync({ user: 'u' });
    sluice.checkSync({ user: 'u' });
    sluice.checkSync({ user: 'w' });
    expect(await usageNow(sluice, await sluice.peek({ user: 'u' }), 10_000)).toEqual([4, 6]);
    expect(await usageNow(sluice, await sluice.peek({ user: 'w' }), 10_000)).toEqual([2, 3]);
  });

  it('under the limit and window the peek decided with (a file’s override), not the rule’s own', async () => {
    // GCRA 2/1s (interval 500); key b's override 4/1s (interval 250). Two takes at 0 put b's TAT at 500:
    // 500 / 250 = 2 units held (under the rule's own interval it would read as 1).
    const policy = { rules: [{ name: 'g', key: 'user', limit: '2/1s', algorithm: 'gcra' }], overrides: [{ rule: 'g', key: { user: 'b' }, limit: '4/1s' }] };
    const sluice = Sluice.openSync({ policy, clock: () => 0 });
    sluice.checkSync({ user: 'b' });
    sluice.checkSync({ user: 'b' });
    const peeks = await sluice.peek({ user: 'b' });
    expect([peeks[0].usage.limit, peeks[0].usage.windowMs]).toEqual([4, 1000]);
    expect(await usageNow(sluice, peeks, 0)).toEqual([2]);
    // 250 ms later one unit has drained.
    expect(await usageNow(sluice, peeks, 250)).toEqual([1]);
  });

  it('a store that cannot read states: limit − remaining, which stops at the limit', async () => {
    const policy = { rules: [{ name: 'r', key: 'user', limit: '3/1m', algorithm: 'fixed-window', charge_rejected: true }] };
    const sluice = Sluice.openSync({ policy, store: new Unreadable(), refusedCache: false, clock: () => 10_000 });
    await sluice.check({ user: 'u' });
    expect(await usageNow(sluice, await sluice.peek({ user: 'u' }), 10_000)).toEqual([1]);
    for (let i = 0; i < 4; i++) await sluice.check({ user: 'u' });
    expect(await usageNow(sluice, await sluice.peek({ user: 'u' }), 10_000)).toEqual([3]);
    expect(await usageNow(sluice, await sluice.peek({ user: 'new' }), 10_000)).toEqual([0]);
  });
});
