// Writes test/vectors/algorithms.json: call sequences per algorithm with the results
// the TypeScript step functions give. The file is the shared truth the Redis Lua twins
// are checked against; test/algorithms/vectors.test.ts fails if the TypeScript drifts.
// Regenerate (after `npm run build`) with: node test/vectors/generate.mjs
import { writeFileSync } from 'node:fs';
import { algorithms } from '../../dist/algorithms/index.js';

const scenarios = [
  // Exact rolling window: 3 per 10 s; the 4th waits for the oldest to leave, not for a window edge.
  { name: 'sliding-log 3/10s fills, refuses, frees as the oldest leaves', algorithm: 'sliding-log', params: { limit: 3, windowMs: 10_000 },
    calls: [[0, 1], [1000, 1], [2000, 1], [3000, 1], [9999, 1], [10_000, 1], [10_500, 1], [11_000, 1], [30_000, 1]] },
  { name: 'sliding-log weighted costs and a cost above the limit', algorithm: 'sliding-log', params: { limit: 5, windowMs: 1000 },
    calls: [[0, 2], [100, 2], [200, 2], [200, 1], [300, 6], [1000, 3], [1100, 2]] },
  { name: 'sliding-log peek, force and refund', algorithm: 'sliding-log', params: { limit: 2, windowMs: 1000 },
    calls: [[0, 1, 'peek'], [0, 1], [10, 1, 'force'], [20, 1, 'force'], [30, 1], [40, 1, 'refund'], [50, 1], [2000, 1, 'peek']] },
  { name: 'gcra 1 per 3 s (recording audio per tenant)', algorithm: 'gcra', params: { limit: 1, windowMs: 3000 },
    calls: [[0, 1], [1, 1], [2999, 1], [3000, 1], [5999, 1], [6000, 1], [20_000, 1]] },
  { name: 'gcra 10/s with burst 5', algorithm: 'gcra', params: { limit: 10, windowMs: 1000, burst: 5 },
    calls: [[0, 1], [0, 1], [0, 1], [0, 1], [0, 1], [0, 1], [50, 1], [100, 1], [100, 3], [400, 3], [400, 1, 'refund'], [400, 1, 'peek']] },
  { name: 'gcra 7 per second: fractional emission interval', algorithm: 'gcra', params: { limit: 7, windowMs: 1000 },
    calls: [[0, 7], [1, 1], [142, 1], [143, 1], [286, 1], [5000, 8], [5000, 7, 'force']] },
  { name: 'fixed-window 2/1s aligned to window edges', algorithm: 'fixed-window', params: { limit: 2, windowMs: 1000 },
    calls: [[100, 1], [200, 1], [300, 1], [999, 1], [1000, 1], [1001, 1], [1002, 1], [1500, 1, 'refund'], [1600, 1], [5000, 3]] },
  { name: 'sliding-window 10/1m weights the previous window', algorithm: 'sliding-window', params: { limit: 10, windowMs: 60_000 },
    calls: [[0, 5], [30_000, 5], [59_000, 1], [60_000, 1], [90_000, 3], [90_000, 2], [100_000, 1], [130_000, 4], [200_000, 10], [200_001, 1, 'refund']] },
  { name: 'rolling-quota 1000 bytes over 5 buckets of 1 s', algorithm: 'rolling-quota', params: { limit: 1000, windowMs: 5000, buckets: 5 },
    calls: [[0, 1, 'peek'], [100, 600, 'force'], [1200, 300, 'force'], [1300, 1, 'peek'], [2500, 200, 'force'], [2600, 1, 'peek'], [5999, 1, 'peek'], [6000, 1, 'peek'], [7000, 1, 'peek'], [8000, 50], [8100, 50, 'refund'], [20_000, 1, 'peek']] },
  { name: 'concurrency 2 in flight with 1 s leases', algorithm: 'concurrency', params: { limit: 2, windowMs: 1000 },
    calls: [[0, 1], [10, 1], [20, 1], [30, 1, 'refund'], [40, 1], [50, 1], [1010, 1], [1050, 2], [1100, 1, 'refund'], [1100, 1, 'refund'], [1100, 1, 'refund']] },
  { name: 'block trips for 15 minutes', algorithm: 'block', params: { limit: 1, windowMs: 900_000 },
    calls: [[0, 1, 'peek'], [1000, 1, 'force'], [1001, 1, 'take'], [900_999, 1, 'peek'], [901_000, 1, 'peek'], [902_000, 1, 'force'], [903_000, 1, 'refund'], [903_001, 1, 'peek']] },
  // Clock steps: calls whose time goes back (or jumps ahead, then back). State stamped ahead of
  // now is clamped: it counts from now for one window at most, never a fresh budget, never a
  // lockout for the size of the step.
  { name: 'sliding-log 3/10s across a step back of an hour', algorithm: 'sliding-log', params: { limit: 3, windowMs: 10_000 },
    calls: [[3_600_000, 1], [3_601_000, 1], [3_602_000, 1], [1000, 1], [5000, 1], [10_999, 1], [11_000, 1], [12_500, 1, 'refund'], [12_500, 1]] },
  { name: 'gcra 10/1m after a day ahead, then corrected', algorithm: 'gcra', params: { limit: 10, windowMs: 60_000 },
    calls: [[86_400_000, 10], [86_400_001, 5, 'force'], [1000, 1], [1000, 1, 'peek'], [7000, 1], [13_000, 1], [13_000, 1, 'refund']] },
  { name: 'gcra 10/1m burst 2 stepped back a minute', algorithm: 'gcra', params: { limit: 10, windowMs: 60_000, burst: 2 },
    calls: [[120_000, 2], [60_000, 1], [65_999, 1], [66_000, 1], [72_000, 1]] },
  { name: 'fixed-window 5/1m stepped back 5 s across an edge', algorithm: 'fixed-window', params: { limit: 5, windowMs: 60_000 },
    calls: [[61_000, 4], [56_000, 1], [57_000, 1], [58_000, 1, 'refund'], [60_000, 2], [120_000, 1]] },
  { name: 'sliding-window 10/1m stepped back an hour', algorithm: 'sliding-window', params: { limit: 10, windowMs: 60_000 },
    calls: [[3_630_000, 6], [3_690_000, 3], [30_000, 1], [30_000, 2], [59_000, 1], [60_000, 1], [125_000, 1]] },
  { name: 'rolling-quota 100 over 4 buckets stepped back', algorithm: 'rolling-quota', params: { limit: 100, windowMs: 4000, buckets: 4 },
    calls: [[10_000, 40, 'force'], [11_000, 30, 'force'], [2000, 1, 'peek'], [2100, 31], [2200, 30], [3000, 10, 'refund'], [7000, 1, 'peek']] },
  { name: 'concurrency 2 leases of 1 s stepped back an hour', algorithm: 'concurrency', params: { limit: 2, windowMs: 1000 },
    calls: [[3_600_000, 1], [3_600_100, 1], [500, 1], [1499, 1], [1500, 1], [1600, 1, 'refund']] },
  { name: 'block of 15 min stamped a day ahead', algorithm: 'block', params: { limit: 1, windowMs: 900_000 },
    calls: [[86_400_000, 1, 'force'], [1000, 1, 'take'], [900_999, 1, 'peek'], [901_000, 1, 'peek'], [902_000, 1, 'force']] },
];

const out = scenarios.map((s) => {
  let state = null;
  const calls = s.calls.map(([now, cost, mode = 'take']) => {
    const r = algorithms[s.algorithm].step(state, now, cost, s.params, mode);
    // Storage keeps the new state only when the step charged or reshaped it (never for a refused take or a peek),
    // or when the state was stamped ahead of now: then the clamped state is written back.
    if ((mode !== 'peek' && (mode !== 'take' || r.allowed)) || (state && algorithms[s.algorithm].ahead(state, now, s.params))) state = r.state;
    return { now, cost, mode, expect: { allowed: r.allowed, remaining: r.remaining, resetMs: r.resetMs, retryAfterMs: r.retryAfterMs, state: r.state } };
  });
  return { name: s.name, algorithm: s.algorithm, params: s.params, calls };
});
writeFileSync(new URL('./algorithms.json', import.meta.url), JSON.stringify(out, null, 1) + '\n');
console.log(`wrote ${out.length} scenarios, ${out.reduce((n, s) => n + s.calls.length, 0)} calls`);
