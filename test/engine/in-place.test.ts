import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { Sluice } from '../../src/engine/sluice.js';
import { MemoryStore } from '../../src/stores/memory.js';
import { ADMITTED, REFUSED } from '../../src/stores/in-place-store.js';
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

// Values that need escaping in a state key ("|", "%"), one that looks escaped already, and odd
// ones that must not collide either: empty (a missing key), unicode, a lone surrogate, very long.
const VALUES = ['a', 'b', 'c|d', '50%', 'x%7Cy', 'e', '', 'ü→🙂', '\uD800', 'c%7Cd', 'L'.repeat(300), `${'L'.repeat(299)}|`];

const ruleArb = fc.record({
  algorithm: fc.constantFrom('gcra', 'fixed-window', 'sliding-window', 'sliding-log', 'rolling-quota'),
  limit: fc.integer({ min: 1, max: 4 }),
  seconds: fc.integer({ min: 1, max: 20 }),
  burst: fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }),
  // A block on the rule's own key, or (bot-loop breaker) on part of it: the contact, not the question.
  block: fc.constantFrom(undefined, undefined, '7s', 'on k'),
  // Outcome rules count failures, recorded after the work (login lockout), and checks only peek.
  count: fc.constantFrom(undefined, undefined, undefined, 'failure' as const),
  shadow: fc.constantFrom(false, false, false, true),
  // Refused checks are charged too (a rule that counts attempts, not admissions).
  chargeRejected: fc.constantFrom(false, false, false, true),
  key: fc.constantFrom(['k'], ['k'], ['k', 'j'], []),
  // A custom limit in the policy file for the key {k: b, j: 1}, above or below the rule's.
  custom: fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }),
  // The limit scaled by the k entity's seats: set at run time, in the file (k: a), or by the subject.
  scale: fc.boolean(),
});

const stepArb = fc.record({
  // Negative: an injected clock stepped back (a little, or far); both paths must clamp (and write back) alike. An hour: a step forward past every window and block.
  dt: fc.oneof(fc.integer({ min: 0, max: 4_000 }), fc.integer({ min: 0, max: 40 }), fc.constantFrom(0, 250, 500, 1000), fc.integer({ min: -300, max: 0 }), fc.integer({ min: -30_000, max: -1 }), fc.constant(3_600_000)),
  k: fc.constantFrom<string>(...VALUES),
  j: fc.constantFrom<string>('1', '2'),
  which: fc.constantFrom('one', 'other', 'both'),
  cost: fc.constantFrom(undefined, undefined, undefined, 1, 2, 0, 1.5),
  reset: fc.constantFrom(false, false, false, false, false, false, true),
  // What else happens to the key: a refund of the check, or support setting or lifting a custom limit.
  then: fc.constantFrom('none', 'none', 'none', 'none', 'refund', 'override', 'lift', 'failed', 'failed', 'succeeded'),
  custom: fc.record({ limit: fc.integer({ min: 1, max: 6 }), seconds: fc.integer({ min: 1, max: 20 }) }),
  // Which of rules 3 and 4 (when the policy has them) the subject asks for too.
  also: fc.subarray([2, 3]),
});

/** The long property runs' time limit: generous, for a loaded machine (the runs count, never time, anything). */
const LONG_RUN = 180_000;

/** The rules' names; rule i > 0 matches a subject with { [name]: 'yes' }. */
const NAMES = ['one', 'other', 'third', 'fourth'];

type RuleCase = typeof ruleArb extends fc.Arbitrary<infer T> ? T : never;
type StepCase = typeof stepArb extends fc.Arbitrary<infer T> ? T : never;

/** Runs the same checks, refunds, overrides and resets through the in-place path and the general path, comparing every answer. */
async function differential(rules: RuleCase[], steps: StepCase[], maxKeys: number): Promise<GeneralPathStore> {
  // Rule "one" matches every subject, "other" only those that ask for it: a check matches one rule or both.
  const policy = {
    rules: rules.map((r, i) => ({
      name: NAMES[i],
      ...(i > 0 ? { match: { [NAMES[i]]: 'yes' } } : {}),
      key: r.key,
      limit: `${r.limit}/${r.seconds}s`,
      algorithm: r.algorithm as 'gcra',
      ...(r.burst !== undefined && r.algorithm === 'gcra' ? { burst: r.burst } : {}),
      // A quota's buckets, which a run-time override must keep (the default is 60).
      ...(r.algorithm === 'rolling-quota' ? { buckets: 1 + (r.seconds % 4) } : {}),
      ...(r.block && !r.shadow ? { block: r.block === 'on k' && (r.key as readonly string[]).includes('k') ? { for: '7s', key: ['k'] } : '7s' } : {}),
      ...(r.count ? { count: r.count } : {}),
      ...(r.scale && (r.key as readonly string[]).includes('k') ? { scale: { attribute: 'seats', of: 'k', default: 1 } } : {}),
      ...(r.shadow ? { shadow: true } : {}),
      ...(r.chargeRejected && !r.count ? { charge_rejected: true } : {}),
    })),
    attributes: { k: { a: { seats: 2 } } },
    overrides: rules.flatMap((r, i) =>
      r.custom === undefined ? [] : [{ rule: NAMES[i], key: Object.fromEntries(r.key.map((a) => [a, a === 'k' ? 'b' : '1'])), limit: `${r.custom}/${r.seconds + 1}s` }],
    ),
  };
  const clock = manualClock();
  const fast = new MemoryStore({ maxKeys });
  const general = new GeneralPathStore({ maxKeys });
  const a = Sluice.openSync({ policy, store: fast, clock: clock.now });
  const b = Sluice.openSync({ policy, store: general, clock: clock.now });
  for (const s of steps) {
    clock.advance(s.dt);
    // Rule "one" matches every subject, the others those that ask for them: a check matches one to four rules.
    const asks = Object.fromEntries(s.also.map((i) => [NAMES[i], 'yes']));
    const subject = { k: s.k, j: s.j, ...(s.which !== 'one' ? { other: 'yes' } : {}), ...asks, ...(s.dt % 5 === 1 ? { seats: 3 } : {}) };
    const opts = s.cost === undefined ? undefined : { cost: s.cost };
    const [da, db] = [a.checkSync(subject, opts), b.checkSync(subject, opts)];
    expect(da.toJSON()).toEqual(db.toJSON());
    expect(da.headers).toEqual(db.headers);
    expect((await a.check(subject, opts)).toJSON()).toEqual((await b.check(subject, opts)).toJSON());
    if (s.then === 'refund') expect((await a.refund(subject, opts)).toJSON()).toEqual((await b.refund(subject, opts)).toJSON());
    if (s.then === 'failed' || s.then === 'succeeded') {
      const outcome = { success: s.then === 'succeeded', status: s.then === 'succeeded' ? 200 : 401 };
      const [ra, rb] = [await a.record(subject, outcome), await b.record(subject, outcome)];
      expect(ra.toJSON()).toEqual(rb.toJSON());
      expect(ra.headers).toEqual(rb.headers);
    }
    if (s.then === 'override' && s.dt % 2 === 0) {
      // Support changes the entity's seats (a scaled limit changes while entries are held).
      for (const store of [fast, general]) await store.setAttributes(`k:${s.k}`, { seats: s.custom.limit % 3 === 0 ? null : s.custom.limit / 2 });
    } else if ((s.then === 'override' || s.then === 'lift') && a.keysFor(subject).length > 0) {
      // A run-time override changes the key's limit (up or down) while its entries are held.
      const { rule, key } = a.keysFor(subject)[0];
      for (const store of [fast, general]) {
        if (s.then === 'lift') await store.deleteOverride(key);
        else await store.setOverride({ key, rule, keyValues: {}, limit: s.custom.limit, windowMs: s.custom.seconds * 1000 });
      }
    }
    if (s.reset) {
      // The admin reset names states by their escaped key; it must find what the in-place path stored.
      const keys = a.keysFor(subject).flatMap((k) => [k.key, ...(k.blockKey ? [k.blockKey] : [])]);
      // Support's reset lifts the key's custom limits (and seats) too, so it looks like a key never seen.
      for (const key of keys) expect(await fast.deleteOverride(key)).toBe(await general.deleteOverride(key));
      for (const store of [fast, general]) await store.setAttributes(`k:${s.k}`, { seats: null });
      expect(await fast.reset(keys)).toBe(await general.reset(keys));
      const usage = async (sluice: Sluice) => (await sluice.peek(subject)).map((p) => ({ usage: p.usage, block: p.block }));
      expect(await usage(a)).toEqual(await usage(Sluice.openSync({ policy, store: new MemoryStore(), clock: clock.now })));
    }
    expect(fast.keyCount).toBe(general.keyCount);
  }
  return general;
}

/**
 * The differential over long runs of checks that mostly match rule "one" alone (so most are
 * decided in place), with fewer custom limits set (most become `instead`: overrides send
 * nothing to the general path now, but fewer of them keep more keys at the rule's limit).
 */
async function longRuns(rule: fc.Arbitrary<RuleCase>, instead: StepCase['then'], numRuns: number): Promise<void> {
  const lone = stepArb.map((s) => ({ ...s, which: s.which === 'both' ? 'one' : s.which, then: s.then === 'override' && s.dt % 3 !== 0 ? instead : s.then }));
  await fc.assert(
    fc.asyncProperty(fc.tuple(rule, rule), fc.array(lone, { minLength: 20, maxLength: 150, size: 'max' }), fc.integer({ min: 2, max: 6 }), async (rules, steps, maxKeys) => {
      await differential(rules, steps, maxKeys);
    }),
    { numRuns },
  );
}

describe('checks decided in place', () => {
  it('decide, charge, report and evict exactly as the general path does', async () => {
    await fc.assert(
      fc.asyncProperty(fc.tuple(ruleArb, ruleArb), fc.array(stepArb, { minLength: 1, maxLength: 60 }), fc.integer({ min: 2, max: 6 }), async (rules, steps, maxKeys) => {
        const general = await differential(rules, steps, maxKeys);
        // The general path was exercised (a subject without its key value is skipped, not decided).
        if (steps.some((s) => s.k !== '')) expect(general.transactions).toBeGreaterThan(0);
      }),
      { numRuns: 250 },
    );
  }, LONG_RUN);

  it('over three and four rules at once: all admit and all are charged, or none is', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(ruleArb, { minLength: 3, maxLength: 4 }), fc.array(stepArb, { minLength: 10, maxLength: 80, size: 'max' }), fc.integer({ min: 4, max: 12 }), async (rules, steps, maxKeys) => {
        await differential(rules, steps, maxKeys);
      }),
      { numRuns: 150 },
    );
  }, LONG_RUN);

  it('on lone plain rules (most checks in place): the same, over longer runs near the windows\' edges', async () => {
    const plain = ruleArb.map((r) => ({ ...r, block: undefined, shadow: false }));
    await longRuns(plain, 'none', 250);
  }, LONG_RUN);

  it('on lone sliding logs with blocks (login lockout, bot-loop breaker): the same, with records of failures', async () => {
    const lockouts = ruleArb.map((r) => ({ ...r, algorithm: 'sliding-log' as const, shadow: false, block: r.block ?? '7s', count: r.count ?? (r.limit % 2 ? ('failure' as const) : undefined) }));
    await longRuns(lockouts, 'failed', 200);
  }, LONG_RUN);

  it('on lone rules in shadow mode or charging refusals: the same, over longer runs', async () => {
    const observing = ruleArb.map((r) => ({ ...r, count: undefined, block: r.shadow ? undefined : r.block, shadow: r.limit % 2 === 0, chargeRejected: r.limit % 2 === 1 || r.chargeRejected }));
    await longRuns(observing, 'none', 200);
  }, LONG_RUN);

  it('are taken for a lone rule, with its block or a key\'s custom limit, and not when apply is replaced', async () => {
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
    expect(inPlace({ k: 'a', route: 'blocking' })).toEqual([ADMITTED]);
    expect(inPlace({ k: 'a', route: 'log' })).toEqual([ADMITTED]);
    // A key with a custom limit (in the file, or set at run time) is decided in place with it.
    expect(inPlace({ k: 'a', route: 'custom' })).toEqual([ADMITTED]);
    for (let i = 0; i < 4; i++) expect(inPlace({ k: 'vip', route: 'custom' })).toEqual([ADMITTED]);
    expect(sluice.checkSync({ k: 'vip', route: 'custom' }).limit).toBe(5);
    expect(inPlace({ k: 'vip', route: 'custom' })).toEqual([REFUSED]);
    await store.setOverride({ key: 'plain|b', rule: 'plain', keyValues: { k: 'b' }, limit: 1, windowMs: 60_000 });
    expect(inPlace({ k: 'b', route: 'plain' })).toEqual([ADMITTED]);
    const refused = sluice.checkSync({ k: 'b', route: 'plain' });
    expect([refused.allowed, refused.limit, refused.headers['RateLimit-Policy']]).toEqual([false, 1, '"plain";q=1;w=60']);
    expect(inPlace({ k: 'a', route: 'plain' })).toEqual([ADMITTED]); // keys without one keep the rule's limit
    expect(sluice.checkSync({ k: 'a', route: 'plain' }).limit).toBe(2);
    await store.deleteOverride('plain|b');
    store.apply = MemoryStore.prototype.apply.bind(store);
    expect(inPlace({ k: 'a', route: 'plain' })).toEqual([]);
  });

  it('are taken for shadow rules and rules that charge refusals (a refused log is charged in place; a refused fixed-size take that must be charged goes to apply)', () => {
    const policy = {
      rules: [
        { name: 'watch', key: 'k', limit: '1/1m', algorithm: 'sliding-log' as const, shadow: true, match: { route: 'watch' } },
        { name: 'attempts', key: 'k', limit: '1/1m', algorithm: 'sliding-log' as const, charge_rejected: true, match: { route: 'attempts' } },
        { name: 'gcra-attempts', key: 'k', limit: '1/1m', algorithm: 'gcra' as const, charge_rejected: true, match: { route: 'gcra-attempts' } },
      ],
    };
    const store = new MemoryStore();
    // A check decided in place settles there; one that goes to apply has written nothing when it leaves.
    const settled = vi.spyOn(store, 'settleInPlace');
    const sluice = Sluice.openSync({ policy, store, clock: manualClock().now });
    const check = (route: string) => {
      settled.mockClear();
      const d = sluice.checkSync({ k: 'a', route });
      return { allowed: d.allowed, shadowDenied: d.shadowDenied, inPlace: settled.mock.calls.length === 1 };
    };
    expect(check('watch')).toEqual({ allowed: true, shadowDenied: [], inPlace: true });
    // The shadow rule would have refused: admitted all the same, and not charged.
    expect(check('watch')).toEqual({ allowed: true, shadowDenied: ['watch'], inPlace: true });
    expect(check('attempts')).toEqual({ allowed: true, shadowDenied: [], inPlace: true });
    expect(check('attempts')).toEqual({ allowed: false, shadowDenied: [], inPlace: true });
    // The refusal was charged: two entries are held, so the key waits for both to leave.
    expect(sluice.checkSync({ k: 'a', route: 'attempts' }).retryAfterMs).toBe(60_000);
    expect(check('gcra-attempts')).toEqual({ allowed: true, shadowDenied: [], inPlace: true });
    expect(check('gcra-attempts')).toEqual({ allowed: false, shadowDenied: [], inPlace: false });
  });
});
