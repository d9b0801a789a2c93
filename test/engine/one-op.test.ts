import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AlgorithmName } from '../../src/algorithms/index.js';
import type { StateRef, TxOp } from '../../src/stores/store.js';
import { runGeneralTransaction, runOneOp, type StateAccess } from '../../src/stores/transaction.js';

/** A plain state map that logs every write, so two runs can be compared write for write. */
class LoggedState implements StateAccess {
  readonly states = new Map<string, { state: number[]; expiresAt: number }>();
  readonly writes: { key: string; state: number[] | null; expiresAt: number }[] = [];
  constructor(
    private readonly overrides: Map<string, { limit: number; windowMs: number }>,
    private readonly attributes: Map<string, Record<string, number>>,
  ) {}
  read(ref: StateRef): readonly number[] | null {
    return this.states.get(ref.key)?.state ?? null;
  }
  write(ref: StateRef, state: number[] | null, expiresAt: number): void {
    this.writes.push({ key: ref.key, state: state && [...state], expiresAt });
    if (state === null || state.length === 0) this.states.delete(ref.key);
    else this.states.set(ref.key, { state: [...state], expiresAt });
  }
  override(ref: StateRef): { limit: number; windowMs: number } | undefined {
    return this.overrides.get(ref.key);
  }
  attribute(entity: string, name: string): number | undefined {
    return this.attributes.get(entity)?.[name];
  }
}

const ALGORITHMS: Exclude<AlgorithmName, 'block'>[] = ['sliding-log', 'sliding-window', 'fixed-window', 'gcra', 'rolling-quota', 'concurrency'];

const opArb = fc.record({
  dt: fc.oneof(fc.integer({ min: 0, max: 400 }), fc.integer({ min: 0, max: 400 }), fc.integer({ min: -20_000, max: -1 })),
  algorithm: fc.constantFrom(...ALGORITHMS),
  key: fc.integer({ min: 0, max: 2 }),
  limit: fc.integer({ min: 1, max: 5 }),
  windowMs: fc.integer({ min: 50, max: 1000 }),
  burst: fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }),
  buckets: fc.option(fc.integer({ min: 1, max: 10 }), { nil: undefined }),
  cost: fc.integer({ min: 1, max: 3 }),
  mode: fc.constantFrom('take', 'take', 'peek', 'force', 'refund') as fc.Arbitrary<TxOp['mode']>,
  shadow: fc.boolean(),
  chargeRejected: fc.boolean(),
  blockMs: fc.constantFrom(0, 0, 100, 700),
  sharedBlock: fc.boolean(),
  blockOnly: fc.boolean(),
  override: fc.option(fc.record({ limit: fc.integer({ min: 1, max: 4 }), windowMs: fc.integer({ min: 50, max: 800 }) }), { nil: undefined }),
  scale: fc.option(fc.record({ fallback: fc.integer({ min: 1, max: 3 }), stored: fc.boolean() }), { nil: undefined }),
});

describe('runOneOp', () => {
  it('decides, writes and trips blocks exactly as the general transaction does with the same single op', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 60 }), fc.boolean(), (draws, storedOverride) => {
        const overrides = new Map(storedOverride ? [['gcra|k0', { limit: 2, windowMs: 300 }]] : []);
        const attributes = new Map([['tenant:t', { seats: 2 }]]);
        const general = new LoggedState(overrides, attributes);
        const one = new LoggedState(overrides, attributes);
        let now = 1_000_000;
        for (const d of draws) {
          now += d.dt;
          const key = `${d.algorithm}|k${d.key}`;
          const op: TxOp = {
            key,
            tag: `k${d.key}`,
            algorithm: d.algorithm,
            params: { limit: d.limit, windowMs: d.windowMs, burst: d.burst, buckets: d.buckets },
            cost: d.cost,
            mode: d.mode,
            shadow: d.shadow,
            chargeRejected: d.chargeRejected,
            blockMs: d.blockMs,
            blockKey: d.blockMs > 0 ? (d.sharedBlock ? 'blocks!b|shared' : `${key}!b`) : undefined,
            blockOnly: d.blockOnly,
            override: d.override,
            scale: d.scale && { entity: d.scale.stored ? 'tenant:t' : 'tenant:u', attribute: 'seats', fallback: d.scale.fallback },
          };
          const [expected] = runGeneralTransaction([op], now, general);
          expect(runOneOp(op, now, one)).toEqual(expected);
          expect(one.writes).toEqual(general.writes);
        }
        expect([...one.states]).toEqual([...general.states]);
      }),
      { numRuns: 500 },
    );
  });
});
