import { describe, expect, it } from 'vitest';
import { RuleOp } from '../../src/engine/rule-op.js';
import { localId, stateKey } from '../../src/engine/keys.js';
import { loadPolicy } from '../../src/policy/load.js';
import { Sluice } from '../../src/engine/sluice.js';
import { MemoryStore } from '../../src/stores/memory.js';
import type { OpResult, TxOp } from '../../src/stores/store.js';

/** The op the engine builds per rule per check (src/engine/rule-op.ts): its figures read through the rule, its key and tag built on demand. */
describe('RuleOp', () => {
  const policy = loadPolicy({
    rules: [
      { name: 'none', limit: '5/1s', algorithm: 'gcra', shadow: true },
      { name: 'one', key: 'user', limit: '3/1m', algorithm: 'fixed-window', block: '2s', charge_rejected: true },
      { name: 'two', key: ['user', 'ip'], limit: '4/1s', algorithm: 'sliding-window' },
    ],
  });
  const [none, one, two] = policy.rules;

  it('reads the rule’s name, algorithm, parameters, shadow, charge_rejected and block through it', () => {
    const a = new RuleOp(one, 'u', 2, 'take');
    expect([a.ns, a.algorithm, a.params, a.shadow, a.chargeRejected, a.blockMs, a.id, a.cost, a.mode]).toEqual(['one', 'fixed-window', one.params, false, true, 2000, 'u', 2, 'take']);
    const b = new RuleOp(none, '', 0, 'peek');
    expect([b.ns, b.algorithm, b.shadow, b.chargeRejected, b.blockMs, b.cost, b.mode]).toEqual(['none', 'gcra', true, false, 0, 0, 'peek']);
  });

  it('starts with no override, scale or block key, and not block-only', () => {
    const a = new RuleOp(one, 'u', 1, 'take');
    expect([a.override, a.scale, a.blockKey, a.blockOnly]).toEqual([undefined, undefined, undefined, false]);
  });

  it('a rule without a key: key and tag are the rule’s name', () => {
    const a = new RuleOp(none, localId(none, {}), 1, 'take');
    expect([a.key, a.tag]).toEqual(['none', 'none']);
    expect(a.key).toBe(stateKey(none, {}));
  });

  it('a one-value key: the id is the raw value, the key and tag escape it', () => {
    const subject = { user: 'a|b%{c}' };
    const a = new RuleOp(one, localId(one, subject), 1, 'take');
    expect(a.id).toBe('a|b%{c}');
    expect([a.key, a.tag]).toEqual(['one|a%7Cb%25%7Bc%7D', 'a%7Cb%25%7Bc%7D']);
    expect(a.key).toBe(stateKey(one, subject));
  });

  it('a two-value key: the id is already escaped and joined, and is the tag as it is', () => {
    const subject = { user: 'a|b', ip: '1.2.3.4' };
    const a = new RuleOp(two, localId(two, subject), 1, 'take');
    expect(a.id).toBe('a%7Cb|1.2.3.4');
    expect([a.key, a.tag]).toEqual(['two|a%7Cb|1.2.3.4', 'a%7Cb|1.2.3.4']);
    expect(a.key).toBe(stateKey(two, subject));
  });

  it('an empty one-value key ("": a shared bucket) is "rule|", as stateKey names it, not the rule’s name', () => {
    const a = new RuleOp(one, localId(one, { user: '' }), 1, 'take');
    expect([a.id, a.key, a.tag]).toEqual(['', 'one|', '']);
    expect(a.key).toBe(stateKey(one, { user: '' }));
  });
});

/** The bug the empty key had: a shared rule's bucket was written as "rule" but named "rule|" by keysFor and the file's overrides. */
describe('the shared bucket of a one-key rule', () => {
  const policy = {
    rules: [{ name: 'one', key: 'user', limit: '1/1m', algorithm: 'fixed-window', on_missing_key: 'shared' }],
    overrides: [{ rule: 'one', key: { user: '' }, limit: '3/1m' }],
  };
  class GeneralOnly extends MemoryStore {
    override apply(ops: readonly TxOp[], now: number): OpResult[] {
      return super.apply(ops, now);
    }
  }

  it('the file’s override for the bucket applies on both paths, and peek says so under the key keysFor names', async () => {
    for (const store of [new MemoryStore(), new GeneralOnly()]) {
      const sluice = Sluice.openSync({ policy, store, clock: () => 10_000 });
      expect([1, 2, 3, 4].map(() => sluice.checkSync({}).allowed)).toEqual([true, true, true, false]);
      expect(sluice.keysFor({})).toEqual([{ rule: 'one', key: 'one|' }]);
      const [p] = await sluice.peek({});
      expect([p.key, p.policyOverride, p.usage.limit]).toEqual(['one|', true, 3]);
    }
  });

  it('the ops a store is given carry the key keysFor names (what a Redis reset deletes)', () => {
    const keys: string[] = [];
    class Watching extends MemoryStore {
      override apply(ops: readonly TxOp[], now: number): OpResult[] {
        for (const op of ops) keys.push(op.key);
        return super.apply(ops, now);
      }
    }
    const sluice = Sluice.openSync({ policy: { rules: [policy.rules[0]] }, store: new Watching(), clock: () => 10_000 });
    sluice.checkSync({});
    expect(keys).toEqual(sluice.keysFor({}).map((k) => k.key));
  });
});
