// Benchmark of the Sluice service's hot routes, POST /v1/check and Envoy's POST /json, side by side
// with peers in one run:
//   floor     the performance floor (/work/shared/floors/bare-http.mjs, copied here): node:http that
//             reads the whole body and answers a short JSON; every ratio is against it
//   bare      node:http answering a small JSON (the ceiling)
//   fastify   fastify + @fastify/rate-limit answering a small JSON (what a typical limiter costs)
//   sluice    the Sluice service (dist/server) on the memory store
//   sluice-sqlite       the same on SQLite (the service's durable default), synchronous=NORMAL
//   sluice-sqlite-full  the same with synchronous=FULL (an fsync per group commit)
//   sluice-redis  the same on Redis, when a redis-server binary and the redis store are available
//   envoy-json    Envoy's POST /json on the memory store (an envoy ratelimit config)
// Each server runs in its own child process; autocannon drives it from this one (50 connections,
// 127.0.0.1 only, a short warm-up, then ~5 s). Rounds interleave the targets; each figure is the
// median over rounds, with the spread (min–max), and each ratio is the median of the per-round
// ratios to the floor measured in the same round.
//
//   npm run build && flock /tmp/sluice-bench.lock node bench/service.mjs
//   (BENCH_DURATION=5 BENCH_CONNECTIONS=50 BENCH_ROUNDS=3 BENCH_ONLY=floor,sluice,sluice-sqlite)
//   npm run build && node bench/service.mjs --dashboard   the dashboard's bookkeeping on vs off (issue 14: ≤ 3%)
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = fileURLToPath(import.meta.url);
const dist = new URL('../dist/', import.meta.url);
const DURATION = Number(process.env.BENCH_DURATION ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BODY = JSON.stringify({ subject: { account: 'acme', api: 'List of Conversations' }, cost: 1 });
const ENVOY_BODY = JSON.stringify({ domain: 'bench', descriptors: [{ entries: [{ key: 'account', value: 'acme' }] }] });
const ONLY = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',')) : undefined;

// An envoy ratelimit config with a limit the run never reaches.
const ENVOY_CONFIG = `
domain: bench
descriptors:
  - key: account
    rate_limit: { unit: hour, requests_per_unit: 1000000000 }
`;

// A realistic rule (keyed per account, matched on an API group) with a limit the run never reaches,
// so every request is a full decision that admits and charges.
export const POLICY = `
version: 1
groups:
  reporting: [List of Conversations, Queue Size]
rules:
  - name: account-per-minute
    match: { api: { group: reporting } }
    key: [account]
    limit: 1000000000/1m
    algorithm: sliding-window
`;

// ---------------------------------------------------------------- child side

async function child(kind, arg) {
  let port;
  if (kind === 'floor') {
    // /work/shared/floors/bare-http.mjs, verbatim but for the port.
    const { default: http } = await import('node:http');
    const answer = '{"allowed":true,"overallCode":"OK","remaining":999}';
    const server = http.createServer((req, res) => {
      req.on('data', () => {});
      req.on('end', () => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(answer); });
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    port = server.address().port;
  } else if (kind === 'bare') {
    const { createServer: http } = await import('node:http');
    const payload = JSON.stringify({ allowed: true, action: 'allow' });
    const server = http((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(payload) });
        res.end(payload);
      });
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    port = server.address().port;
  } else if (kind === 'bare-io') {
    // The floor for any decision API: read and parse the JSON body, answer a decision-sized
    // JSON with rate-limit headers, but decide nothing.
    const { createServer: http } = await import('node:http');
    const payload = JSON.stringify({ allowed: true, action: 'allow', rule: 'account-per-minute', status: 200, limit: 1000000000, remaining: 999999999, resetMs: 60000, retryAfterMs: 0, rules: [{ name: 'account-per-minute', allowed: true, shadow: false, blocked: false, limit: 1000000000, windowMs: 60000, remaining: 999999999, resetMs: 60000, retryAfterMs: 0 }] });
    const headers = ['content-type', 'application/json; charset=utf-8', 'content-length', String(Buffer.byteLength(payload)), 'RateLimit-Policy', '"account-per-minute";q=1000000000;w=60', 'RateLimit', '"account-per-minute";r=999999999;t=60'];
    const server = http((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        JSON.parse(Buffer.concat(chunks).toString('utf8'));
        res.writeHead(200, headers);
        res.end(payload);
      });
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    port = server.address().port;
  } else if (kind === 'fastify') {
    const { default: Fastify } = await import('fastify');
    const { default: rateLimit } = await import('@fastify/rate-limit');
    const app = Fastify({ logger: false });
    await app.register(rateLimit, { max: 1_000_000_000, timeWindow: 60_000, keyGenerator: (req) => req.body?.subject?.account ?? req.ip });
    app.post('/v1/check', async () => ({ allowed: true, action: 'allow' }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = app.server.address().port;
  } else {
    const { serve } = await import(new URL('server/serve.js', dist).href);
    const { pino } = await import('pino');
    const store = process.env.BENCH_STORE ?? 'memory';
    const envoy = kind === 'envoy-json' ? { envoyConfig: process.env.BENCH_ENVOY } : {};
    const h = await serve({ config: arg, port: 0, host: '127.0.0.1', store, logger: pino({ level: 'warn' }), watch: false, handleSignals: false, dashboard: kind !== 'sluice-nodash', ...envoy });
    port = h.port;
  }
  // The driver asks for this process's CPU time around each measured run: CPU per request is
  // the efficiency figure that holds even when other work shares the machine.
  process.on('message', (m) => {
    if (m === 'cpu') process.send({ cpu: process.cpuUsage() });
  });
  process.stdout.write(`READY ${port}\n`);
}

// ---------------------------------------------------------------- driver side

async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

async function startChild(kind, arg, env = {}) {
  const p = spawn(process.execPath, [here, '--child', kind, arg ?? ''], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'], env: { ...process.env, ...env } });
  let buf = '';
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${kind}: not ready within 15 s`)), 15_000);
    p.stdout.on('data', (d) => {
      buf += d;
      const m = /READY (\d+)/.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    p.once('exit', (code) => reject(new Error(`${kind} exited with ${code}`)));
  });
  const cpu = () =>
    new Promise((resolve) => {
      p.once('message', (m) => resolve(m.cpu.user + m.cpu.system));
      p.send('cpu');
    });
  return { port, cpu, stop: async () => { p.kill('SIGKILL'); if (p.exitCode === null && p.signalCode === null) await once(p, 'exit'); } };
}

async function drive(autocannon, c, duration, json) {
  const cpu0 = await c.cpu();
  const result = await autocannon({
    url: `http://127.0.0.1:${c.port}${json ? '/json' : '/v1/check'}`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: json ? ENVOY_BODY : BODY,
    connections: CONNECTIONS,
    duration,
  });
  const cpu1 = await c.cpu();
  return { rps: result.requests.average, p99: result.latency.p99, errors: result.errors + result.timeouts, non2xx: result.non2xx, cpuUs: (cpu1 - cpu0) / Math.max(1, result.requests.total) };
}

async function startRedis() {
  const bin = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((b) => existsSync(b));
  if (!bin) return undefined;
  const port = await freePort();
  const p = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  for (let i = 0; i < 50; i++) {
    const ok = await new Promise((r) => {
      const s = new Socket();
      s.once('connect', () => { s.destroy(); r(true); });
      s.once('error', () => r(false));
      s.connect(port, '127.0.0.1');
    });
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url: `redis://127.0.0.1:${port}`, stop: () => p.kill('SIGKILL') };
}

const LABELS = {
  floor: 'floor (bare-http.mjs)',
  bare: 'bare node:http',
  'bare-io': 'bare node:http, same I/O',
  fastify: 'fastify + @fastify/rate-limit',
  sluice: '/v1/check, memory',
  'sluice-sqlite': '/v1/check, sqlite',
  'sluice-sqlite-full': '/v1/check, sqlite FULL',
  'sluice-redis': '/v1/check, redis',
  'envoy-json': 'envoy /json, memory',
};

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export async function run() {
  if (!existsSync(new URL('server/serve.js', dist))) throw new Error('dist/server/serve.js is missing: run `npm run build` first');
  const { default: autocannon } = await import('autocannon');
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
  const policyFile = join(dir, 'policy.yaml');
  writeFileSync(policyFile, POLICY);
  const envoyFile = join(dir, 'envoy.yaml');
  writeFileSync(envoyFile, ENVOY_CONFIG);

  let db = 0;
  const sqlite = (q = '') => () => ({ BENCH_STORE: `sqlite:${join(dir, `bench-${db++}.db`)}${q}` });
  const targets = [
    ['floor'],
    ['bare'],
    ['bare-io'],
    ['fastify'],
    ['sluice', policyFile],
    ['sluice-sqlite', policyFile, sqlite()],
    ['sluice-sqlite-full', policyFile, sqlite('?synchronous=full')],
    ['envoy-json', policyFile, () => ({ BENCH_ENVOY: envoyFile })],
  ];
  let redis;
  if (!ONLY || ONLY.has('sluice-redis')) {
    redis = await startRedis();
    if (redis) targets.push(['sluice-redis', policyFile, () => ({ BENCH_STORE: redis.url })]);
    else console.log('(no redis-server binary: skipping sluice on redis)');
  }
  const chosen = targets.filter(([kind]) => kind === 'floor' || !ONLY || ONLY.has(kind));

  // Rounds alternate the targets, so a burst of other work on the machine hits them alike.
  const rounds = {};
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const [kind, arg, env] of chosen) {
        const c = await startChild(kind, arg, env?.());
        try {
          const json = kind === 'envoy-json';
          await drive(autocannon, c, 1, json); // warm-up: JIT, connection setup
          (rounds[kind] ??= []).push(await drive(autocannon, c, DURATION, json));
        } finally {
          await c.stop();
        }
      }
    }
  } finally {
    redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  }

  const floor = rounds.floor;
  console.log(`\nservice, ${CONNECTIONS} connections, ${DURATION} s each, ${ROUNDS} interleaved rounds, medians (node ${process.version})`);
  // The CPU ratio (floor's server CPU per request / the target's, per round) holds better than req/s
  // when other work shares the machine: it does not depend on who got the cores.
  console.log('target                          req/s (min–max)          p99 ms (max)   vs floor (min–max)     server CPU µs/req (floor/it)   errors/non-2xx');
  const summary = {};
  for (const [kind, rs] of Object.entries(rounds)) {
    const rps = rs.map((r) => r.rps);
    const ratios = rs.map((r, i) => r.rps / floor[i].rps);
    const cpuRatios = rs.map((r, i) => floor[i].cpuUs / r.cpuUs);
    const row = { rps: median(rps), p99: median(rs.map((r) => r.p99)), p99max: Math.max(...rs.map((r) => r.p99)), ratio: median(ratios), ratioMin: Math.min(...ratios), ratioMax: Math.max(...ratios), cpuUs: median(rs.map((r) => r.cpuUs)), cpuRatio: median(cpuRatios), cpuRatioMin: Math.min(...cpuRatios), cpuRatioMax: Math.max(...cpuRatios), errors: rs.reduce((a, r) => a + r.errors, 0), non2xx: rs.reduce((a, r) => a + r.non2xx, 0) };
    summary[kind] = row;
    console.log(
      `${LABELS[kind].padEnd(30)} ${row.rps.toFixed(0).padStart(7)} (${Math.min(...rps).toFixed(0)}–${Math.max(...rps).toFixed(0)})`.padEnd(56) +
        `${String(row.p99).padStart(4)} (${row.p99max})`.padEnd(15) +
        `${row.ratio.toFixed(2).padStart(5)} (${row.ratioMin.toFixed(2)}–${row.ratioMax.toFixed(2)})`.padEnd(24) +
        `${row.cpuUs.toFixed(1).padStart(8)} (${row.cpuRatio.toFixed(2)}, ${row.cpuRatioMin.toFixed(2)}–${row.cpuRatioMax.toFixed(2)})`.padEnd(31) +
        `${String(row.errors).padStart(8)}/${row.non2xx}`,
    );
  }
  const verdict = (kind, target, p99) => {
    const r = summary[kind];
    if (!r) return;
    const ok = r.ratio >= target && (p99 === undefined || r.p99 <= p99);
    console.log(`${LABELS[kind]}: ${r.ratio.toFixed(2)} of the floor (target ≥ ${target})${p99 === undefined ? '' : `, p99 ${r.p99} ms (target ≤ ${p99} ms)`}: ${ok ? 'PASS' : 'FAIL'}`);
  };
  console.log('');
  verdict('sluice', 0.9, 5);
  verdict('sluice-sqlite', 0.7, 5);
  verdict('envoy-json', 0.8);
  return { summary, rounds };
}

// ---------------------------------------------------------------- dashboard on vs off

// The same service with the dashboard's bookkeeping on (the default) and off, interleaved round
// by round, in two cases: every check admitted, and every check refused (a flood on one key,
// where the bookkeeping also feeds the heavy-hitter summaries).
const REFUSED_POLICY = POLICY.replace('limit: 1000000000/1m', 'limit: 1/1h');

async function runDashboardComparison() {
  if (!existsSync(new URL('server/serve.js', dist))) throw new Error('dist/server/serve.js is missing: run `npm run build` first');
  const { default: autocannon } = await import('autocannon');
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
  const cases = { admitted: join(dir, 'admitted.yaml'), refused: join(dir, 'refused.yaml') };
  writeFileSync(cases.admitted, POLICY);
  writeFileSync(cases.refused, REFUSED_POLICY);
  const results = {};
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, file] of Object.entries(cases)) {
        // Alternate which contender goes first, so a drift in the machine's speed hits both alike.
        const order = round % 2 ? ['sluice-nodash', 'sluice'] : ['sluice', 'sluice-nodash'];
        for (const kind of order) {
          const c = await startChild(kind, file);
          try {
            await drive(autocannon, c, 1);
            const r = await drive(autocannon, c, DURATION);
            ((results[name] ??= {})[kind] ??= []).push(r);
          } finally {
            await c.stop();
          }
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  };
  const pct = (x) => `${(x * 100).toFixed(1)}%`;
  console.log(`\nPOST /v1/check, dashboard on vs off, ${CONNECTIONS} connections, ${DURATION} s per run, ${ROUNDS} interleaved rounds (node ${process.version})`);
  for (const [name, r] of Object.entries(results)) {
    const on = r.sluice;
    const off = r['sluice-nodash'];
    const rps = on.map((x, i) => x.rps / off[i].rps);
    const cpu = on.map((x, i) => x.cpuUs / off[i].cpuUs);
    const bad = on.concat(off).reduce((n, x) => n + x.errors, 0);
    console.log(`${name.padEnd(9)} req/s on/off per round: ${rps.map(pct).join(', ')}  median ${pct(median(rps))} (spread ${pct(Math.min(...rps))}–${pct(Math.max(...rps))});  req/s on ${median(on.map((x) => x.rps)).toFixed(0)}, off ${median(off.map((x) => x.rps)).toFixed(0)}`);
    console.log(`${''.padEnd(9)} server CPU µs/req on/off per round: ${cpu.map(pct).join(', ')}  median ${pct(median(cpu))};  errors ${bad}`);
  }
  return results;
}

if (process.argv[2] === '--child') {
  await child(process.argv[3], process.argv[4] || undefined);
} else if (process.argv[2] === '--dashboard') {
  await runDashboardComparison();
} else if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  await run();
}
