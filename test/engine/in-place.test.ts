import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { Sluice } from '../../src/engine/sluice.js';
import { ADMITTED, MemoryStore, UNABLE } from '../../src/stores/memory.js';
import type { OpResult, TxOp } from '../../src/stores/store.js';
import { manualClock } from '../helpers/clock.js';

/** The same store, but its apply is its own: the engine then takes the general path for every check. */
class GeneralPathStore extends MemoryStore {
  transactions = 0;
  override apply(ops: readonly TxOp[], now: number): OpResult[] {
    this.transactions++;
    return super.apply(ops, now);
  }
}

// Values that need escaping in a state key ("|", "%") and one that looks escaped already.
const VALUES = ['a', 'b', 'c|d', '50%', 'x%7Cy', 'e'];

const ruleArb = fc.record({
  algorithm: fc.constantFrom('gcra', 'fixed-window', 'sliding-window', 'sliding-log'),
  limit: fc.integer({ min: 1, max: 4 }),
  seconds: fc.integer({ min: 1, max: 20 }),
  burst: fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }),
  block: fc.constantFrom(undefined, undefined, '7s'),
  shadow: fc.constantFrom(false, false, false, true),
  key: fc.constantFrom(['k'], ['k'], ['k', 'j'], []),
});

const stepArb = fc.record({
  // Negative: an injected clock stepped back; both paths must clamp (and write back) alike.
  dt: fc.oneof(fc.integer({ min: 0, max: 4_000 }), fc.integer({ min: 0, max: 4_000 }), fc.integer({ min: -30_000, max: -1 })),
  k: fc.constantFrom<string>(...VALUES),
  j: fc.constantFrom<string>('1', '2'),
  which: fc.constantFrom('one', 'other', 'both'),
  cost: fc.constantFrom(undefined, undefined, 1, 2, 0),
  reset: fc.constantFrom(false, false, false, false, false, false, true),
});

describe('checks decided in place', () => {
  it('decide, charge, report and evict exactly as the general path does', async () => {
    await fc.assert(
      fc.asyncProperty(fc.tuple(ruleArb, ruleArb), fc.array(stepArb, { minLength: 1, maxLength: 60 }), fc.integer({ min: 2, max: 6 }), async (rules, steps, maxKeys) => {
        // Rule "one" matches every subject, "other" only those that ask for it: a check matches one rule or both.
        const policy = {
          rules: rules.map((r, i) => ({
            name: i === 0 ? 'one' : 'other',
            ...(i === 1 ? { match: { other: 'yes' } } : {}),
            key: r.key,
            limit: `${r.limit}/${r.seconds}s`,
            algorithm: r.algorithm as 'gcra',
            ...(r.burst !== undefined && r.algorithm === 'gcra' ? { burst: r.burst } : {}),
            ...(r.block && !r.shadow ? { block: r.block } : {}),
            ...(r.shadow ? { shadow: true } : {}),
          })),
        };
        const clock = manualClock();
        const fast = new MemoryStore({ maxKeys });
        const general = new GeneralPathStore({ maxKeys });
        const a = Sluice.openSync({ policy, store: fast, clock: clock.now });
        const b = Sluice.openSync({ policy, store: general, clock: clock.now });
        for (const s of steps) {
          clock.advance(s.dt);
          const subject = { k: s.k, j: s.j, ...(s.which !== 'one' ? { other: 'yes' } : {}) };
          const opts = s.cost === undefined ? undefined : { cost: s.cost };
          const [da, db] = [a.checkSync(subject, opts), b.checkSync(subject, opts)];
          expect(da.toJSON()).toEqual(db.toJSON());
          expect(da.headers).toEqual(db.headers);
          expect((await a.check(subject, opts)).toJSON()).toEqual((await b.check(subject, opts)).toJSON());
          if (s.reset) {
            // The admin reset names states by their escaped key; it must find what the in-place path stored.
            const keys = a.keysFor(subject).flatMap((k) => [k.key, ...(k.blockKey ? [k.blockKey] : [])]);
            expect(await fast.reset(keys)).toBe(await general.reset(keys));
            const usage = async (subj: typeof subject) => (await a.peek(subj)).map((p) => ({ usage: p.usage, block: p.block }));
            expect(await usage(subject)).toEqual(await usage({ ...subject, k: 'never-seen', j: 'never-seen' }));
          }
          expect(fast.keyCount).toBe(general.keyCount);
        }
        expect(general.transactions).toBeGreaterThan(0);
      }),
      { numRuns: 250 },
    );
  });

  it('are taken for a lone plain rule, and not when a block, an override, another algorithm or a replaced apply is involved', async () => {
    const policy = {
      rules: [
        { name: 'plain', key: 'k', limit: '2/1m', algorithm: 'gcra' as const, match: { route: 'plain' } },
        { name: 'blocking', key: 'k', limit: '2/1m', algorithm: 'gcra' as const, block: '1m', match: { route: 'blocking' } },
        { name: 'log', key: 'k', limit: '2/1m', algorithm: 'sliding-log' as const, match: { route: 'log' } },
        { name: 'custom', key: 'k', limit: '2/1m', algorithm: 'fixed-window' as const, match: { route: 'custom' } },
      ],
      overrides: [{ rule: 'custom', key: { k: 'vip' }, limit: '5/1m' }],
    };
    const store = new MemoryStore();
    const takes = vi.spyOn(store, 'takeInPlace');
    const sluice = Sluice.openSync({ policy, store });
    const inPlace = (subject: Record<string, string>) => {
      takes.mockClear();
      sluice.checkSync(subject);
      return takes.mock.results.map((r) => r.value);
    };
    expect(inPlace({ k: 'a', route: 'plain' })).toEqual([ADMITTED]);
    expect(inPlace({ k: 'a', route: 'blocking' })).toEqual([]);
    expect(inPlace({ k: 'a', route: 'log' })).toEqual([]);
    expect(inPlace({ k: 'a', route: 'custom' })).toEqual([]); // the rule has an override in the file
    await store.setOverride({ key: 'plain|b', rule: 'plain', keyValues: { k: 'b' }, limit: 1, windowMs: 60_000 });
    expect(inPlace({ k: 'b', route: 'plain' })).toEqual([UNABLE]); // run-time overrides: the general path applies them
    expect(sluice.checkSync({ k: 'b', route: 'plain' }).allowed).toBe(false);
    await store.deleteOverride('plain|b');
    store.apply = MemoryStore.prototype.apply.bind(store);
    expect(inPlace({ k: 'a', route: 'plain' })).toEqual([]);
  });
});
