/**
 * Eviction never lowers a count (issue 17). A flood of distinct keys, 50 × maxKeys, through
 * the library (checkSync, the in-place hot path and the transaction path): a victim at its
 * limit, and a login locked by its block, get 0 extra admissions; legitimate keys below their
 * limit are wrongly refused in under 1% of their checks; memory stays bounded. Before the
 * change the least recently used key was dropped and the victim started again from nothing.
 * The full-scale run (10^7 keys, 10^6 through the service) is bench/eviction-flood.mjs.
 */
import { describe, expect, it } from 'vitest';
import { Sluice } from '../../src/engine/sluice.js';
import { MemoryStore } from '../../src/stores/memory.js';
import { manualClock } from '../helpers/clock.js';

const MAX_KEYS = 1000;
const FLOOD = 50 * MAX_KEYS;

function policyWith(algorithm: string): Record<string, unknown> {
  return {
    rules: [
      { name: 'api', match: { api: 'x' }, key: 'k', limit: '60/1m', algorithm },
      { name: 'login', match: { api: 'login' }, key: 'user', limit: '3/3m', count: 'failure', block: '15m' },
    ],
  };
}

describe.each(['sliding-log', 'sliding-window', 'fixed-window', 'gcra'])('a key flood against the memory store (%s)', (algorithm) => {
  it('a victim at its limit and a blocked login get 0 extra admissions; legit keys are not refused; memory bounded', async () => {
    // Two engines see the same checks at the same instants; only one of them also sees the flood.
    // "Extra" = admitted under the flood but refused without it; "wrongly refused" = the reverse.
    const clock = manualClock(Date.UTC(2026, 0, 5, 9, 0, 0)); // on a minute boundary: fixed windows start here
    const store = new MemoryStore({ maxKeys: MAX_KEYS });
    const flooded = Sluice.openSync({ policy: policyWith(algorithm), store, clock: clock.now });
    const reference = Sluice.openSync({ policy: policyWith(algorithm), clock: clock.now });
    const both = (subject: Record<string, string>) => [flooded.checkSync(subject).allowed, reference.checkSync(subject).allowed];
    const victim = { api: 'x', k: 'victim' };
    let used = 0;
    while (both(victim)[0]) used++;
    expect(used).toBe(60);
    const bob = { api: 'login', user: 'bob' };
    for (let i = 0; i < 4; i++) for (const e of [flooded, reference]) await e.record(bob, { status: 401, success: false });
    expect(both(bob)).toEqual([false, false]);

    const legit = Array.from({ length: 200 }, (_, i) => `legit-${i}`);
    let legitChecks = 0;
    let legitWronglyRefused = 0;
    let extra = 0;
    let victimChecks = 0;
    for (let i = 0; i < FLOOD; i++) {
      clock.advance(0.5); // the flood lasts 25 s of the 60 s window
      flooded.checkSync({ api: i % 2 ? 'x' : 'login', k: `flood-${i}`, user: `flood-${i}` });
      if (i % 40 === 0) {
        const [f, r] = both({ api: 'x', k: legit[(i / 40) % legit.length] });
        legitChecks++;
        if (r && !f) legitWronglyRefused++;
        if (f && !r) extra++;
      }
      if (i % 500 === 0) {
        for (const v of [victim, bob]) {
          const [f, r] = both(v);
          victimChecks++;
          if (f && !r) extra++;
        }
      }
    }
    expect(victimChecks).toBe(2 * (FLOOD / 500));
    expect(extra).toBe(0);
    expect(both(bob)).toEqual([false, false]);
    expect(legitChecks).toBeGreaterThan(1000);
    expect(legitWronglyRefused / legitChecks).toBeLessThan(0.01);
    expect(store.keyCount).toBeLessThanOrEqual(MAX_KEYS);
    expect(store.traceBytes).toBeLessThanOrEqual(4 * 4 * 1024 * 12); // api, login, login!b (+1 spare): 48 KiB each

    // The trace is not forever: once the window (and the block) pass, both are admitted again.
    clock.advance(15 * 60_000);
    expect(flooded.checkSync(victim).allowed).toBe(true);
    expect(flooded.checkSync(bob).allowed).toBe(true);
  });
});

describe('eviction order', () => {
  it('evicts the key holding least of its limit among the least recently used, not the one near its limit', () => {
    const clock = manualClock();
    const store = new MemoryStore({ maxKeys: 3 });
    const sluice = Sluice.openSync({ policy: policyWith('sliding-log'), store, clock: clock.now });
    for (let i = 0; i < 50; i++) sluice.checkSync({ api: 'x', k: 'heavy' });
    sluice.checkSync({ api: 'x', k: 'light' });
    sluice.checkSync({ api: 'x', k: 'other' });
    sluice.checkSync({ api: 'x', k: 'new' }); // evicts light (1 of 60), not heavy (the least recently used, 50 of 60)
    const held = (k: string) => store.holds({ key: `api|${k}`, ns: 'api', id: k });
    expect([held('heavy'), held('light'), held('other'), held('new')]).toEqual([true, false, true, true]);
    // light comes back charged from its trace: never with more than it had left.
    expect(sluice.checkSync({ api: 'x', k: 'light' }).remaining).toBeLessThanOrEqual(58);
  });

  it('an admin reset of an evicted key starts it clean', async () => {
    const clock = manualClock();
    const store = new MemoryStore({ maxKeys: 2 });
    const sluice = Sluice.openSync({ policy: policyWith('sliding-log'), store, clock: clock.now });
    for (let i = 0; i < 60; i++) sluice.checkSync({ api: 'x', k: 'v' });
    for (let i = 0; i < 10; i++) sluice.checkSync({ api: 'x', k: `f${i}` });
    expect(sluice.checkSync({ api: 'x', k: 'v' }).allowed).toBe(false);
    await store.reset(sluice.keysFor({ api: 'x', k: 'v' }).map((k) => k.key));
    expect(sluice.checkSync({ api: 'x', k: 'v' }).allowed).toBe(true);
  });
});
