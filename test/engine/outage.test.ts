/**
 * Outages that keep limits (issue 17), on the engine with an injected clock: the circuit
 * breaker, each instance's share of the limit, the carry-over of the last count the store
 * reported, and rate-limited store-failure logs. The same behaviour against real Redis
 * processes (kill, SIGSTOP, several instances) is in test/stores/outage-redis.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { CircuitBreaker, PROBE, SKIP, STORE } from '../../src/engine/breaker.js';
import { FailureLog, type FailureSummary } from '../../src/engine/failure-log.js';
import { Sluice } from '../../src/engine/sluice.js';
import { MemoryStore } from '../../src/stores/memory.js';
import type { OpResult, Store, TxOp } from '../../src/stores/store.js';
import { manualClock } from '../helpers/clock.js';

/** A memory store that can be made to fail or to hang (never settle), counting the calls that reach it. */
class UnreliableStore implements Store {
  readonly name = 'unreliable';
  mode: 'up' | 'failing' | 'hung' = 'up';
  calls = 0;
  instances = 1;
  readonly inner = new MemoryStore();
  private readonly hung: ((e: Error) => void)[] = [];
  apply(ops: readonly TxOp[], now: number): Promise<OpResult[]> {
    this.calls++;
    if (this.mode === 'failing') return Promise.reject(new Error('connection refused'));
    if (this.mode === 'hung') return new Promise((_, reject) => this.hung.push(reject));
    return Promise.resolve(this.inner.apply(ops, now));
  }
  /** Times out every hung call (what the command timeout does). */
  timeOut(): void {
    for (const r of this.hung.splice(0)) r(new Error('Command timed out'));
  }
  liveInstances(): number {
    return this.instances;
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

const policy = {
  rules: [
    { name: 'per-minute', key: 'k', match: { api: 'x' }, limit: '10/1m', on_store_error: 'open' },
    { name: 'login', key: 'user', match: { api: 'login' }, limit: '3/3m', count: 'failure', block: '15m', on_store_error: 'open' },
  ],
};

describe('circuit breaker', () => {
  it('opens after 3 consecutive failures, lets one probe through per cooldown, closes when a probe succeeds', () => {
    const clock = manualClock();
    const b = new CircuitBreaker(clock.now, { failures: 3, cooldownMs: 1000 });
    expect(b.gate()).toBe(STORE);
    b.failure(STORE);
    b.failure(STORE);
    b.success(STORE); // not consecutive
    b.failure(STORE);
    b.failure(STORE);
    expect(b.open).toBe(false);
    b.failure(STORE);
    expect(b.open).toBe(true);
    expect(b.gate()).toBe(SKIP);
    clock.advance(999);
    expect(b.gate()).toBe(SKIP);
    clock.advance(1);
    expect(b.gate()).toBe(PROBE);
    expect(b.gate()).toBe(SKIP); // one probe at a time
    b.failure(PROBE);
    clock.advance(999);
    expect(b.gate()).toBe(SKIP);
    clock.advance(1);
    expect(b.gate()).toBe(PROBE);
    b.success(PROBE);
    expect(b.open).toBe(false);
    expect(b.gate()).toBe(STORE);
    expect(b.trips).toBe(1);
  });

  it('a hung store: after the breaker trips, decisions answer without waiting on the store; a probe brings it back', async () => {
    const clock = manualClock();
    const store = new UnreliableStore();
    const sluice = await Sluice.open({ policy, store, clock: clock.now, breaker: { failures: 3, cooldownMs: 1000 } });
    store.mode = 'hung';
    const waiting = [1, 2, 3].map((i) => sluice.check({ api: 'x', k: `w${i}` }));
    store.timeOut();
    expect((await Promise.all(waiting)).every((d) => d.rules[0].fallback === true)).toBe(true);
    expect(sluice.breaker.open).toBe(true);
    const callsAtTrip = store.calls;
    // Open: 100 checks settle at once (the hung store would never answer them) and never reach it.
    const fast = await Promise.all(Array.from({ length: 100 }, (_, i) => sluice.check({ api: 'x', k: `f${i}` })));
    expect(fast.every((d) => d.allowed && d.rules[0].fallback === true)).toBe(true);
    expect(store.calls).toBe(callsAtTrip);
    expect(sluice.counters.shortCircuited).toBe(100);
    // Store back (SIGCONT): the next probe, after the cooldown, succeeds and decisions use the store again.
    store.mode = 'up';
    clock.advance(1000);
    const probe = await sluice.check({ api: 'x', k: 'p' });
    expect(probe.rules[0].fallback).toBeUndefined();
    expect(sluice.breaker.open).toBe(false);
    expect((await sluice.check({ api: 'x', k: 'p' })).rules[0].fallback).toBeUndefined();
    expect(store.calls).toBe(callsAtTrip + 2);
  });
});

describe('the fallback during an outage', () => {
  it('each of N instances takes limit ÷ N: together they admit at most the limit', async () => {
    for (const n of [1, 2, 3]) {
      const clock = manualClock();
      const engines = await Promise.all(
        Array.from({ length: n }, async () => {
          const store = new UnreliableStore();
          store.instances = n;
          store.mode = 'failing';
          return Sluice.open({ policy, store, clock: clock.now });
        }),
      );
      let admitted = 0;
      for (let i = 0; i < 40; i++) for (const e of engines) if ((await e.check({ api: 'x', k: 'acme' })).allowed) admitted++;
      expect(admitted, `${n} instances`).toBe(Math.floor(10 / n) * n);
      expect(admitted).toBeLessThanOrEqual(10);
    }
  });

  it('starts from the last count the store reported: 8 of 10 used before the outage leaves 2, not 10', async () => {
    const clock = manualClock();
    const store = new UnreliableStore();
    const sluice = await Sluice.open({ policy, store, clock: clock.now });
    for (let i = 0; i < 8; i++) expect((await sluice.check({ api: 'x', k: 'acme' })).allowed).toBe(true);
    store.mode = 'failing';
    const during = [];
    for (let i = 0; i < 10; i++) during.push((await sluice.check({ api: 'x', k: 'acme' })).allowed);
    expect(during.filter(Boolean)).toHaveLength(2);
    // Another key, never seen, has its whole (share of the) limit.
    let other = 0;
    for (let i = 0; i < 12; i++) if ((await sluice.check({ api: 'x', k: 'other' })).allowed) other++;
    expect(other).toBe(10);
  });

  it('with 2 instances, each carries half of the count it last saw (rounded up): never more than the limit in total', async () => {
    const clock = manualClock();
    const stores = [new UnreliableStore(), new UnreliableStore()];
    const shared = stores[0].inner;
    const engines = await Promise.all(
      stores.map((s) => {
        s.instances = 2;
        // Both instances share the one store while it is up.
        (s as { apply: Store['apply'] }).apply = (ops, now) => (s.mode === 'up' ? Promise.resolve(shared.apply(ops, now)) : Promise.reject(new Error('down')));
        return Sluice.open({ policy, store: s, clock: clock.now });
      }),
    );
    for (let i = 0; i < 7; i++) expect((await engines[i % 2].check({ api: 'x', k: 'acme' })).allowed).toBe(true);
    await engines[0].check({ api: 'y' }); // matches nothing
    // Each instance saw the count at its own last answer: engine 0 saw 7 used, engine 1 saw 6.
    for (const s of stores) s.mode = 'failing';
    let admitted = 0;
    for (let i = 0; i < 10; i++) for (const e of engines) if ((await e.check({ api: 'x', k: 'acme' })).allowed) admitted++;
    // Shares of 5: engine 0 starts at ceil(7/2)=4 → 1 more, engine 1 at ceil(6/2)=3 → 2 more.
    expect(admitted).toBe(3);
    expect(7 + admitted).toBeLessThanOrEqual(10);
  });

  it('a login the store reported blocked stays blocked through the outage, until the block ends', async () => {
    const clock = manualClock();
    const store = new UnreliableStore();
    const sluice = await Sluice.open({ policy, store, clock: clock.now });
    const bob = { api: 'login', user: 'bob' };
    for (let i = 0; i < 4; i++) await sluice.record(bob, { status: 401, success: false });
    const blocked = await sluice.check(bob);
    expect(blocked.allowed).toBe(false);
    store.mode = 'failing';
    clock.advance(60_000);
    const during = await sluice.check(bob);
    expect(during.rules[0].fallback).toBe(true);
    expect(during.allowed).toBe(false);
    expect(during.retryAfterMs).toBe(14 * 60_000);
    clock.advance(14 * 60_000);
    expect((await sluice.check(bob)).allowed).toBe(true);
  });
});

describe('store-failure logs', () => {
  it('one line for the first failure, then at most one per interval with the count, no stack', () => {
    const clock = manualClock();
    const lines: FailureSummary[] = [];
    const log = new FailureLog((s) => lines.push(s), 10_000, clock.now);
    const err = new Error('Command timed out');
    for (let i = 0; i < 1000; i++) log.note(err);
    expect(lines).toEqual([{ failures: 1, error: 'Command timed out', sinceMs: 0 }]);
    clock.advance(10_000);
    log.note(err);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toEqual({ failures: 1000, error: 'Command timed out', sinceMs: 10_000 });
    log.note(err);
    log.flush();
    expect(lines[2].failures).toBe(1);
    expect(JSON.stringify(lines)).not.toMatch(/at \w+ \(/);
  });
});
