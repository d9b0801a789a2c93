// The dashboard's bookkeeping, in process: what one decision costs with the dashboard's
// observer on vs off (the same check + ServerMetrics.decision as the service's hot path),
// in alternating blocks so a burst of other work hits both alike; median and spread of the
// per-block difference. Two cases: every check admitted, every check refused (one key
// flooding, which also feeds the heavy-hitter summaries). Compare the ns with the service's
// CPU per request (bench/service.mjs) for the share of /v1/check it costs.
//
//   npm run build && node bench/dashboard.mjs        (BENCH_BLOCKS=40 BENCH_BLOCK=100000)
const dist = new URL('../dist/', import.meta.url);
const { Sluice } = await import(new URL('engine/sluice.js', dist).href);
const { DashboardRecorder } = await import(new URL('dashboard/recorder.js', dist).href);
const { ServerMetrics } = await import(new URL('server/metrics.js', dist).href);
const { POLICY } = await import('./service.mjs');

const BLOCKS = Number(process.env.BENCH_BLOCKS ?? 40);
const BLOCK = Number(process.env.BENCH_BLOCK ?? 100_000);
// The service benchmark's rule (keyed per account, matched on an API group), with the limit of each case.
const policy = (limit) => POLICY.replace('limit: 1000000000/1m', `limit: ${limit}`);

function measure(limit) {
  const sluice = Sluice.openSync({ policy: policy(limit) });
  const metrics = new ServerMetrics(() => sluice, { defaultMetrics: false });
  const recorder = new DashboardRecorder(() => sluice);
  const block = (on) => {
    metrics.observer = on ? recorder : undefined;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < BLOCK; i++) {
      const subject = { account: 'acme', api: 'List of Conversations' };
      const s = performance.now();
      const d = sluice.checkSync(subject, { cost: 1 });
      metrics.decision(d, performance.now() - s, subject);
    }
    return Number(process.hrtime.bigint() - t0) / BLOCK;
  };
  for (let i = 0; i < 5; i++) block(i % 2 === 0); // warm-up
  const on = [];
  const off = [];
  for (let b = 0; b < BLOCKS; b++) {
    if (b % 2) {
      off.push(block(false));
      on.push(block(true));
    } else {
      on.push(block(true));
      off.push(block(false));
    }
    if (b % 10 === 9) recorder.tick();
  }
  return { on, off, diff: on.map((x, i) => x - off[i]) };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const q = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];

console.log(`dashboard bookkeeping per decision, in process, ${BLOCKS} alternating blocks of ${BLOCK} checks (node ${process.version})`);
for (const [name, limit] of [['admitted', '1000000000/1m'], ['refused', '1/1h']]) {
  const r = measure(limit);
  console.log(
    `${name.padEnd(9)} off ${median(r.off).toFixed(0)} ns, on ${median(r.on).toFixed(0)} ns per check+count; on − off: median ${median(r.diff).toFixed(0)} ns (quartiles ${q(r.diff, 0.25).toFixed(0)} to ${q(r.diff, 0.75).toFixed(0)} ns)`,
  );
}
