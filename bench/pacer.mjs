// Pacer benchmark (real time, bounded to about 30 s):
//  1. overhead: jobs/s through the pacer at an effectively unlimited rate (memory store),
//     side by side with p-limit (a concurrency-only queue) and a bare Promise.all;
//  2. accuracy: how closely it holds 200/s over 10 s — achieved-rate error and the jitter
//     (stddev, p99) of the gaps between job starts — with burst 1 (strictly even) and
//     burst 3 (absorbs late timers), next to a naive "sleep 1/rate between jobs" loop,
//     the usual hand-rolled pacer, which drifts by every timer's lateness.
// Run alone: npm run build && node bench/pacer.mjs   (SLUICE_DIST=dir to import another build;
// BENCH_PACER_SECONDS=n to shorten the accuracy runs).
import { performance } from 'node:perf_hooks';
import pLimit from 'p-limit';

const DIST = process.env.SLUICE_DIST ? new URL(`file://${process.env.SLUICE_DIST.replace(/\/?$/, '/')}`) : new URL('../dist/', import.meta.url);
const SECONDS = Number(process.env.BENCH_PACER_SECONDS ?? 10);
const JOBS = 200_000;
const CONCURRENCY = 64;
const UNLIMITED = { limit: 1e9, windowMs: 1000, burst: 1e9 };

const noop = async () => undefined;

async function timeIt(label, fn) {
  // One warm-up round at a tenth of the size, then the measured round.
  await fn(JOBS / 10);
  const t = performance.now();
  await fn(JOBS);
  const secs = (performance.now() - t) / 1000;
  return { label, perSec: JOBS / secs };
}

function gapsStats(starts) {
  const gaps = [];
  for (let i = 1; i < starts.length; i++) gaps.push(starts[i] - starts[i - 1]);
  const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
  const sd = Math.sqrt(gaps.reduce((a, g) => a + (g - mean) ** 2, 0) / gaps.length);
  const sorted = [...gaps].sort((a, b) => a - b);
  const q = (p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
  return { mean, sd, p50: q(0.5), p99: q(0.99), max: sorted.at(-1) };
}

/** Starts `rate`/s jobs for `seconds`; returns start times (ms, performance clock). */
async function paced(createPacer, rate, seconds, burst = 1) {
  const pacer = createPacer({ rate: { limit: rate, windowMs: 1000, burst } });
  const n = rate * seconds;
  const starts = [];
  const all = [];
  for (let i = 0; i < n; i++) all.push(pacer.schedule('channel', async () => void starts.push(performance.now())));
  await Promise.all(all);
  await pacer.stop();
  return starts;
}

async function naive(rate, seconds) {
  const n = rate * seconds;
  const interval = 1000 / rate;
  const starts = [];
  for (let i = 0; i < n; i++) {
    starts.push(performance.now());
    await new Promise((r) => setTimeout(r, interval));
  }
  return starts;
}

export async function run() {
  const { createPacer } = await import(new URL('pacer/index.js', DIST).href);

  // ---- 1. overhead ----
  const rows = [];
  const bare = await timeIt('bare Promise.all (no queue)', async (n) => {
    const ps = new Array(n);
    for (let i = 0; i < n; i++) ps[i] = noop();
    await Promise.all(ps);
  });
  const limit = await timeIt(`p-limit(${CONCURRENCY}) (concurrency only, no rate)`, async (n) => {
    const l = pLimit(CONCURRENCY);
    const ps = new Array(n);
    for (let i = 0; i < n; i++) ps[i] = l(noop);
    await Promise.all(ps);
  });
  const one = await timeIt(`sluice pacer, 1 key, concurrency ${CONCURRENCY}`, async (n) => {
    const pacer = createPacer({ rate: UNLIMITED, concurrency: CONCURRENCY, maxQueue: n });
    const ps = new Array(n);
    for (let i = 0; i < n; i++) ps[i] = pacer.schedule('k', noop);
    await Promise.all(ps);
  });
  const many = await timeIt(`sluice pacer, 1000 keys, concurrency ${CONCURRENCY}`, async (n) => {
    const pacer = createPacer({ rate: UNLIMITED, concurrency: CONCURRENCY, maxQueue: n });
    const ps = new Array(n);
    for (let i = 0; i < n; i++) ps[i] = pacer.schedule(`k${i % 1000}`, noop);
    await Promise.all(ps);
  });
  for (const r of [bare, limit, one, many]) {
    rows.push({ contender: r.label, 'jobs/s': Math.round(r.perSec), 'µs/job': (1e6 / r.perSec).toFixed(2), 'vs p-limit': (r.perSec / limit.perSec).toFixed(2) + '×' });
  }
  console.log(`\n## Pacer overhead: ${JOBS} no-op jobs, rate effectively unlimited, memory store`);
  console.table(rows);

  // ---- 2. accuracy ----
  const RATE = 200;
  const acc = [];
  for (const [label, starts] of [
    [`sluice pacer ${RATE}/s burst 1, ${SECONDS} s`, await paced(createPacer, RATE, SECONDS, 1)],
    [`sluice pacer ${RATE}/s burst 3, ${SECONDS} s`, await paced(createPacer, RATE, SECONDS, 3)],
    [`naive sleep(1000/${RATE}) loop, ${Math.max(1, Math.round(SECONDS / 2))} s`, await naive(RATE, Math.max(1, Math.round(SECONDS / 2)))],
  ]) {
    const span = starts.at(-1) - starts[0];
    const achieved = ((starts.length - 1) / span) * 1000;
    const g = gapsStats(starts);
    acc.push({
      contender: label,
      jobs: starts.length,
      'achieved/s': achieved.toFixed(1),
      'rate error': `${(((achieved - RATE) / RATE) * 100).toFixed(2)}%`,
      'gap mean ms': g.mean.toFixed(3),
      'gap sd ms': g.sd.toFixed(3),
      'gap p50 ms': g.p50.toFixed(3),
      'gap p99 ms': g.p99.toFixed(3),
      'gap max ms': g.max.toFixed(3),
    });
  }
  console.log(`\n## Holding a set rate: ${RATE}/s (5 ms apart), real time`);
  console.table(acc);
  return { overhead: rows, accuracy: acc };
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
