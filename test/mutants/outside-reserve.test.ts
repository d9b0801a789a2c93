import { describe, expect, it } from 'vitest';
import { emptyPolicy, outsideRule } from '../../src/engine/outside-rules.js';
import { reserveSlot, slotRef } from '../../src/engine/reserve.js';
import { Sluice } from '../../src/engine/sluice.js';
import { MemoryStore } from '../../src/stores/memory.js';
import type { OpResult } from '../../src/stores/store.js';
import { txOp } from '../../src/stores/tx-op.js';

/** Rules from outside the policy (Envoy's) and the pacer's reservations, through the engine and a real store. */
describe('outside rules', () => {
  const spec = { name: 'envoy:web', algorithm: 'fixed-window' as const, params: { limit: 1, windowMs: 2000 }, shadow: false, onStoreError: 'closed' as const, blockMs: 0 };

  it('compile to a rule that matches nothing by itself and answers 429 with its own policy item', () => {
    const r = outsideRule(spec);
    expect(r).toMatchObject({
      index: -1,
      name: 'envoy:web',
      keyAttrs: [],
      blockKeyAttrs: [],
      algorithm: 'fixed-window',
      params: { limit: 1, windowMs: 2000 },
      cost: { kind: 'fixed', units: 1 },
      phase: 'request',
      blockMs: 0,
      action: 'reject',
      response: { status: 429, message: 'Rate limit exceeded.', code: 'rate_limited' },
      shadow: false,
      onStoreError: 'closed',
      chargeRejected: false,
      policyItem: '"envoy:web";q=1;w=2',
    });
    expect([r.matches({}), r.matchesIgnoringKey({}), r.counts({ status: 200 })]).toEqual([false, false, false]);
    expect(outsideRule({ ...spec, shadow: true, onStoreError: 'open', blockMs: 5 })).toMatchObject({ shadow: true, onStoreError: 'open', blockMs: 5 });
  });

  it('a name without a door (no ":") is refused, saying the name', () => {
    expect(() => outsideRule({ ...spec, name: 'web' })).toThrow(`an outside rule's name is namespaced ("door:name"); got "web"`);
  });

  it('the empty policy holds nothing and names its source', () => {
    const p = emptyPolicy('<src>');
    expect(p).toEqual({ rules: [], ruleByName: new Map(), groups: new Map(), overrides: [], attributes: new Map(), caps: [], routes: [], legacyHeaders: false, source: '<src>' });
  });

  it('are decided by the engine: the second take within the window is refused under the rule’s name', async () => {
    const sluice = Sluice.over(new MemoryStore(), { clock: () => 10_000 });
    expect(sluice.policy.source).toBe('<none: rules outside the policy>');
    const rule = outsideRule(spec);
    const op = () => txOp({ key: 'envoy:web|x', tag: 'x', algorithm: 'fixed-window', params: spec.params, cost: 1, mode: 'take' });
    expect((await sluice.decideOutside([rule], [op()])).allowed).toBe(true);
    const d = await sluice.decideOutside([rule], [op()]);
    expect(d).toMatchObject({ allowed: false, status: 429, rule: 'envoy:web', code: 'rate_limited', message: 'Rate limit exceeded.' });
    // The window [10000, 12000) ends 2000 ms later.
    expect(d.retryAfterMs).toBe(2000);
    expect(d.headers['RateLimit-Policy']).toBe('"envoy:web";q=1;w=2');
  });
});

describe('pacer reservations', () => {
  it('the slot of a pacer and key, escaped, under pacer|', () => {
    expect(slotRef('p|x', 'k{1}')).toEqual({ key: 'pacer|p%7Cx|k%7B1%7D', tag: 'p%7Cx|k%7B1%7D' });
    expect(slotRef('p', 'k')).toEqual({ key: 'pacer|p|k', tag: 'p|k' });
  });

  it('take the next GCRA slot whatever the wait: 2 per 1000 ms (interval 500), burst 2 (tolerance 1000)', () => {
    const store = new MemoryStore();
    const slot = slotRef('p', 'k');
    const waits = [0, 0, 0, 0].map(() => (reserveSlot(store, slot, { limit: 2, windowMs: 1000 }, 0) as OpResult).retryAfterMs);
    // TATs 500, 1000 (both within 1000), 1500 (500 past the tolerance); then the TAT is clamped to
    // now + max(tolerance, window) = 1000 (gcra.ts tatCeiling), so the 4th is 1500 again: 500.
    expect(waits).toEqual([0, 0, 500, 500]);
    // Burst 1 (tolerance 500): the second slot waits 500.
    const b1 = slotRef('p', 'b1');
    expect([0, 0].map(() => (reserveSlot(store, b1, { limit: 2, windowMs: 1000, burst: 1 }, 0) as OpResult).retryAfterMs)).toEqual([0, 500]);
  });

  it('through an asynchronous store, the first result', async () => {
    const inner = new MemoryStore();
    const slow = { apply: (ops: Parameters<MemoryStore['apply']>[0], now: number) => Promise.resolve(inner.apply(ops, now)) } as unknown as MemoryStore;
    const r = await reserveSlot(slow, slotRef('p', 'k'), { limit: 1, windowMs: 1000, burst: 1 }, 0);
    expect(r).toMatchObject({ allowed: true, retryAfterMs: 0, limit: 1, windowMs: 1000 });
    const r2 = await reserveSlot(slow, slotRef('p', 'k'), { limit: 1, windowMs: 1000, burst: 1 }, 0);
    expect(r2).toMatchObject({ allowed: false, retryAfterMs: 1000 });
  });
});
