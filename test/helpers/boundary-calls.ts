import fc from 'fast-check';

/**
 * Call sequences that seek the edges where rate-limit bugs live: a window's end ± 1 ms after
 * an earlier call, gaps of exactly one window, simultaneous calls, costs that exactly fill the
 * limit, limits of 1. Uniform random gaps almost never land on `t + window − 1`; these do
 * often, so an off-by-one at an edge fails every run rather than some.
 */
export interface EdgeCall {
  /** How this call's time is chosen. */
  kind: 'gap' | 'edge';
  /** kind 'gap': ms after the previous call (0 included: simultaneous calls). */
  gap: number;
  /** kind 'edge': which earlier call (counting back from the last) the window is measured from. */
  back: number;
  /** kind 'edge': ms around that call's time + window: −1, 0 or +1. */
  delta: -1 | 0 | 1;
  /** Units as a share of the limit: 'one', 'fill' (exactly the limit), or a number. */
  cost: 'one' | 'fill' | number;
}

export const edgeCallsArb = (maxCost: number, windowMs: number) =>
  fc.array(
    fc.record<EdgeCall>({
      kind: fc.constantFrom('gap', 'edge', 'edge'),
      gap: fc.oneof(fc.constantFrom(0, 1, windowMs - 1, windowMs, windowMs + 1), fc.integer({ min: 0, max: 2 * windowMs })),
      back: fc.integer({ min: 0, max: 6 }),
      delta: fc.constantFrom(-1, 0, 1),
      cost: fc.oneof(fc.constant('one' as const), fc.constant('one' as const), fc.constant('fill' as const), fc.integer({ min: 1, max: maxCost })),
    }),
    { minLength: 1, maxLength: 60 },
  );

/** The absolute times and costs of a sequence (times never go back: an edge in the past is "now"). */
export function timeline(calls: readonly EdgeCall[], start: number, windowMs: number, limit: number): { now: number; cost: number }[] {
  const times: number[] = [];
  let now = start;
  return calls.map((c) => {
    if (c.kind === 'gap') now += c.gap;
    else if (times.length > 0) now = Math.max(now, times[Math.max(0, times.length - 1 - c.back)] + windowMs + c.delta);
    times.push(now);
    return { now, cost: c.cost === 'one' ? 1 : c.cost === 'fill' ? limit : c.cost };
  });
}

/** Parameters with an integral emission interval (window / limit), so GCRA's edges are exact too. */
export const edgeParamsArb = fc.record({
  limit: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 6 })),
  interval: fc.oneof(fc.constantFrom(1, 2, 1000), fc.integer({ min: 1, max: 500 })),
});
