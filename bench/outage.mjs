// Redis outages (issue 17), measured once by hand against real redis-server processes on loopback:
//   flock /tmp/sluice-bench.lock node bench/outage.mjs [dist dir]
// 1. shares: N = 2, 3 instances (engines with their own RedisStore on one Redis), a 30/1m rule,
//    12 used before Redis is SIGKILLed, then 60 checks per instance: total admitted.
// 2. hung: Redis SIGSTOPped under load (8 workers, 250 ms timeout): latency of decisions from
//    the first fallback answer on, for 1.5 s (p50, p99, max).
// 3. logs: the service on that Redis, Redis killed, /v1/check for 3 s: bytes and lines logged.
// The optional dist dir runs an older build (e.g. main's) for the before/after table.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';

const dist = pathToFileURL(resolve(process.argv[2] ?? new URL('../dist', import.meta.url).pathname) + '/').href;
const { Sluice } = await import(dist + 'index.js');
const { connectRedisStore } = await import(dist + 'stores/redis/connection.js');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const policy = (limit) => ({ rules: [{ name: 'per-minute', match: { api: 'x' }, key: 'account', limit, on_store_error: 'open' }] });

async function freePort() {
  return new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => res(p));
    });
  });
}

async function redis() {
  const port = await freePort();
  const p = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    await sleep(50);
    try {
      const s = await connectRedisStore(`redis://127.0.0.1:${port}`, { requireConnection: true, connectTimeoutMs: 200 });
      await s.close();
      break;
    } catch {
      // not up yet
    }
  }
  return { url: `redis://127.0.0.1:${port}`, proc: p, kill: (sig = 'SIGKILL') => p.kill(sig) };
}

const out = { bench: 'outage', dist };

for (const n of [2, 3]) {
  const r = await redis();
  const stores = [];
  for (let i = 0; i < n; i++) stores.push(await connectRedisStore(r.url, { requireConnection: true, timeoutMs: 200, prefix: `b${n}:`, instances: { intervalMs: 0 } }));
  for (const s of stores) await s.instances?.beat();
  for (const s of stores) await s.instances?.beat();
  const engines = await Promise.all(stores.map((store) => Sluice.open({ policy: policy('30/1m'), store })));
  let admitted = 0;
  for (let i = 0; i < 12; i++) if ((await engines[i % n].check({ api: 'x', account: 'acme' })).allowed) admitted++;
  r.kill();
  await sleep(100);
  for (let i = 0; i < 60; i++) for (const e of engines) if ((await e.check({ api: 'x', account: 'acme' })).allowed) admitted++;
  out[`admitted_${n}_instances_limit_30`] = admitted;
  await Promise.all(engines.map((e) => e.close()));
}

{
  const r = await redis();
  const store = await connectRedisStore(r.url, { requireConnection: true, timeoutMs: 250, prefix: 'hung:', instances: { intervalMs: 0 } });
  const sluice = await Sluice.open({ policy: policy('1000000/1m'), store });
  const lat = [];
  let firstFallback = Infinity;
  const start = Date.now();
  const stopAt = 500;
  await Promise.all([
    ...Array.from({ length: 8 }, async (_, w) => {
      while (Date.now() - start < stopAt + 2500) {
        const t0 = performance.now();
        const d = await sluice.check({ api: 'x', account: `a${w}` });
        const at = Date.now() - start;
        if (d.rules[0].fallback && firstFallback === Infinity) firstFallback = at;
        if (at > firstFallback && at < firstFallback + 1500) lat.push(performance.now() - t0);
        await new Promise((res) => setImmediate(res));
      }
    }),
    (async () => {
      await sleep(stopAt);
      r.kill('SIGSTOP');
      await sleep(2400);
      r.kill('SIGCONT');
    })(),
  ]);
  lat.sort((a, b) => a - b);
  const q = (p) => +(lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN).toFixed(2);
  out.hung = { decisions: lat.length, p50ms: q(0.5), p99ms: q(0.99), maxMs: q(1) };
  await sluice.close();
  r.kill();
}

{
  const { serve } = await import(dist + 'server/serve.js');
  const { pino } = await import('pino');
  const r = await redis();
  let bytes = 0;
  let lines = 0;
  const sink = new Writable({
    write(chunk, _enc, cb) {
      // Only the store-failure lines (not access logs, if any).
      for (const line of chunk.toString().split('\n')) {
        if (!line.includes('store failed')) continue;
        bytes += line.length + 1;
        lines++;
      }
      cb();
    },
  });
  const h = await serve({ policy: policy('1000000/1m'), store: `${r.url}?timeout=100&prefix=logs:`, port: 0, host: '127.0.0.1', logger: pino({ level: 'info' }, sink), handleSignals: false, watch: false, processMetrics: false });
  r.kill();
  await sleep(200);
  const before = { bytes, lines };
  const start = Date.now();
  let requests = 0;
  while (Date.now() - start < 3000) {
    await Promise.all(Array.from({ length: 16 }, (_, i) => fetch(h.url + '/v1/check', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ subject: { api: 'x', account: `a${i}` } }) }).then((x) => x.arrayBuffer())));
    requests += 16;
  }
  out.logs = { requests, seconds: 3, bytes: bytes - before.bytes, lines: lines - before.lines };
  await h.close();
}

console.log(JSON.stringify(out));
process.exit(0);
