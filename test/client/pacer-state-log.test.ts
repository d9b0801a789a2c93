import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PacerState } from '../../src/client/pacer-state.js';

/**
 * PacerState's wait for "one of the policy's q units is free again" reads the q-th latest stamp of
 * its send log in place, instead of copying and sorting up to 1,024 stamps on every poll while the
 * budget is spent. Differential: after any sequence of sends and answers (counted or refused, the
 * clock sometimes stepping back), it equals the q-th largest stamp found by sorting, and the
 * stamps are kept in order.
 */

type Op = { kind: 'send' } | { kind: 'answer'; counted: boolean; advance: number };
const ops = fc.array(
  fc.oneof(
    fc.constant<Op>({ kind: 'send' }),
    fc.record({ kind: fc.constant('answer' as const), counted: fc.boolean(), advance: fc.integer({ min: -500, max: 2_000 }) }),
  ),
  { maxLength: 300 },
);

interface Internals {
  sends: { at?: number }[];
  oldestLeavesAt(): number;
}

describe('PacerState send log', () => {
  it('the q-th latest stamp read in place equals the sorted one', () => {
    fc.assert(
      fc.property(ops, fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1_000, max: 60_000 }), (seq, q, w) => {
        const state = new PacerState({ marginMs: 5 });
        const inner = state as unknown as Internals;
        let now = 1_000_000;
        for (const op of seq) {
          if (op.kind === 'send') state.commit(now);
          else {
            now += op.advance;
            state.complete(now, { limit: q, windowMs: w, remaining: 0, resetMs: w }, op.counted);
          }
          const stamps = inner.sends.map((e) => e.at ?? Infinity);
          for (let i = 1; i < stamps.length; i++) expect(stamps[i]).toBeGreaterThanOrEqual(stamps[i - 1]);
          if (stamps.length === 0 || !seq.some((o) => o.kind === 'answer')) continue;
          const sorted = [...stamps].sort((a, b) => b - a);
          const want = q > sorted.length ? Infinity : sorted[q - 1] + w + 5 + Math.max(10, w * 0.02);
          expect(inner.oldestLeavesAt()).toBe(want);
        }
      }),
      { numRuns: 300 },
    );
  });
});
