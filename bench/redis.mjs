// Redis benchmark: Sluice's Redis store vs rate-limiter-flexible's RateLimiterRedis, side by
// side in one run on one redis-server started here (127.0.0.1, no persistence): decisions/s
// and p99 latency at 1, 64 and 256 checks in flight over the same key space; plus the SQLite
// store's decisions/s, and each side's Lua cost per decision inside Redis (INFO commandstats:
// usec of EVALSHA or FCALL over decisions, which stays meaningful on a loaded machine). Each case is
// bounded in time. Run alone: node bench/redis.mjs
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { Sluice, SqliteStore, connectRedisStore } from '../dist/index.js';

const CASE_MS = Number(process.env.BENCH_CASE_MS ?? 1500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
/** Per field, the median over rounds. */
function medianOf(runs) {
  return Object.fromEntries(Object.keys(runs[0]).map((k) => [k, median(runs.map((r) => r[k]))]));
}
const WARM_MS = 500;
const KEYS = 10_000;
const POLICY = `
version: 1
rules:
  - name: per-account
    key: [account]
    limit: 1000000/1m
    algorithm: fixed-window
`;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export async function startRedis() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  for (let i = 0; i < 200; i++) {
    try {
      if (execFileSync('redis-cli', ['-p', String(port), 'PING'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() === 'PONG') break;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    port,
    stop: async () => {
      proc.kill('SIGKILL');
      await new Promise((r) => proc.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs `inFlight` loops calling `fn(i)` for `ms`; returns decisions/s and latency percentiles. */
async function drive(fn, inFlight, ms) {
  const lat = [];
  let n = 0;
  let seq = 0;
  const start = performance.now();
  const end = start + ms;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        await fn(seq++ % KEYS);
        lat.push(performance.now() - t0);
        n++;
      }
    }),
  );
  const secs = (performance.now() - start) / 1000;
  lat.sort((a, b) => a - b);
  const pct = (p) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))] ?? NaN;
  return { rate: n / secs, p50: pct(0.5), p99: pct(0.99), n };
}

/** drive() after a warm-up, with this process's CPU µs per call (stable where wall-clock rates swing on a shared machine). */
async function measure(fn, inFlight) {
  await drive(fn, inFlight, WARM_MS);
  globalThis.gc?.();
  const cpu0 = process.cpuUsage();
  const r = await drive(fn, inFlight, CASE_MS);
  const cpu = process.cpuUsage(cpu0);
  return { ...r, cpuUs: (cpu.user + cpu.system) / Math.max(1, r.n) };
}

/** Runs one case with Redis's command stats reset first; returns the case plus µs of EVALSHA per decision. */
async function measureScript(admin, fn, inFlight, decisions) {
  await admin.config('RESETSTAT');
  const before = decisions();
  const res = await measure(fn, inFlight);
  const info = await admin.info('commandstats');
  // Sluice calls FCALL (Redis Functions) on Redis ≥ 7, EVALSHA before; RLF calls EVALSHA.
  let usec = 0;
  for (const m of info.matchAll(/cmdstat_(?:evalsha|fcall):calls=(\d+),usec=(\d+)/g)) usec += Number(m[2]);
  return { ...res, scriptUs: usec / Math.max(1, decisions() - before) };
}

const fmt = (x) => (x >= 1000 ? `${(x / 1000).toFixed(1)}k` : x.toFixed(0));
const ms = (x) => (x < 1 ? `${(x * 1000).toFixed(0)} µs` : `${x.toFixed(2)} ms`);

export async function run(report = console.log) {
  let redis;
  try {
    redis = await startRedis();
  } catch (e) {
    report(`!! redis-server not available, Redis benchmark skipped: ${e.message}`);
    return;
  }
  const url = `redis://127.0.0.1:${redis.port}`;
  const rows = [];
  try {
    const store = await connectRedisStore(url, { requireConnection: true, timeoutMs: 2000 });
    const sluice = await Sluice.open({ policy: POLICY, store });
    // The same engine with its transaction calls through ioredis instead of the lean connection (1 in flight only).
    const ioStore = await connectRedisStore(url, { requireConnection: true, timeoutMs: 2000, leanConnection: false });
    const viaIoredis = await Sluice.open({ policy: POLICY, store: ioStore });
    const subjects = Array.from({ length: KEYS }, (_, i) => ({ account: `acct-${i}` }));
    const client = new Redis({ port: redis.port, host: '127.0.0.1', enableOfflineQueue: true });
    const rlf = new RateLimiterRedis({ storeClient: client, points: 1_000_000, duration: 60, keyPrefix: 'rlf' });
    const rlfKeys = subjects.map((s) => s.account);

    // RLF makes one script call per decision; Sluice's batcher counts its own.
    let rlfDecisions = 0;
    const rlfCheck = (i) => (rlfDecisions++, rlf.consume(rlfKeys[i]).catch(() => undefined));
    // Interleaved rounds (Sluice, RLF, Sluice, RLF, …), so a burst of other work on the shared
    // machine hits both alike; each figure is the median over rounds, with the spread of the ratio.
    // The floor at 1 in flight (what `redis-cli --latency` shows, from Node): a bare PING round
    // trip on the same kind of connection, interleaved with the contenders.
    const floors = [];
    const ioOnly = [];
    for (const inFlight of [1, 64, 256]) {
      const ss = [];
      const rs = [];
      for (let round = 0; round < ROUNDS; round++) {
        ss.push(await measureScript(client, (i) => sluice.check(subjects[i]), inFlight, () => store.batchStats.transactions));
        rs.push(await measureScript(client, rlfCheck, inFlight, () => rlfDecisions));
        if (inFlight === 1) {
          floors.push(await measure(() => client.ping(), 1));
          ioOnly.push(await measure((i) => viaIoredis.check(subjects[i]), 1));
        }
      }
      const ratios = ss.map((x, i) => x.rate / rs[i].rate);
      rows.push({ inFlight, s: medianOf(ss), r: medianOf(rs), ratio: median(ratios), ratioMin: Math.min(...ratios), ratioMax: Math.max(...ratios), ss, rs });
    }
    const batch = store.batchStats;
    await sluice.close();
    await viaIoredis.close();
    client.disconnect();

    report(`Redis 7 on 127.0.0.1, one Node process, ${KEYS.toLocaleString()} keys, fixed window, ${CASE_MS / 1000}s per case and round`);
    report(`(${ROUNDS} interleaved rounds per row; medians; the ratio's spread is min–max over rounds; Sluice on ${store.callKind === 'function' ? 'FCALL (Redis Functions)' : 'EVALSHA'})`);
    report('| in flight | Sluice redis | p50 | p99 | RateLimiterRedis | p50 | p99 | throughput ratio (min–max) | p99 ratio (RLF/Sluice) | script µs/decision (Sluice / RLF) | Node CPU µs/decision (Sluice / RLF) | CPU ratio (RLF/Sluice, Node + script) |');
    report('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const { inFlight, s, r, ratio, ratioMin, ratioMax } of rows) {
      const cpuRatio = (r.cpuUs + r.scriptUs) / (s.cpuUs + s.scriptUs);
      report(`| ${inFlight} | ${fmt(s.rate)}/s | ${ms(s.p50)} | ${ms(s.p99)} | ${fmt(r.rate)}/s | ${ms(r.p50)} | ${ms(r.p99)} | ${ratio.toFixed(2)}× (${ratioMin.toFixed(2)}–${ratioMax.toFixed(2)}) | ${(r.p99 / s.p99).toFixed(2)}× | ${s.scriptUs.toFixed(2)} / ${r.scriptUs.toFixed(2)} | ${s.cpuUs.toFixed(1)} / ${r.cpuUs.toFixed(1)} | ${cpuRatio.toFixed(2)}× |`);
    }
    report(`Sluice batching: ${(batch.transactions / Math.max(1, batch.calls)).toFixed(1)} decisions per script call on average`);
    const floor = medianOf(floors);
    const one = rows[0];
    // Ratios of rates measured in the same round, then their median and spread.
    const spread = (xs, ys) => {
      const q = xs.map((x, i) => x.rate / ys[i].rate);
      return `${median(q).toFixed(2)} (${Math.min(...q).toFixed(2)}–${Math.max(...q).toFixed(2)})`;
    };
    report(
      `Floor at 1 in flight: a bare PING round trip (ioredis) ${fmt(floor.rate)}/s, p50 ${ms(floor.p50)}, p99 ${ms(floor.p99)}; ` +
        `Sluice reaches ${spread(one.ss, floors)} of it, RateLimiterRedis ${spread(one.rs, floors)}`,
    );
    const io = medianOf(ioOnly);
    report(
      `Sluice at 1 in flight with its calls through ioredis instead of the lean connection: ${fmt(io.rate)}/s, p50 ${ms(io.p50)}, p99 ${ms(io.p99)}, Node CPU ${io.cpuUs.toFixed(1)} µs/decision; ` +
        `the lean connection runs at ${spread(one.ss, ioOnly)} of its rate`,
    );
  } finally {
    await redis.stop();
  }

  // SQLite (embedded, durable): synchronous, so in-flight count does not matter.
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-sqlite-'));
  try {
    const store = new SqliteStore(join(dir, 'sluice.db'));
    const sluice = await Sluice.open({ policy: POLICY, store });
    const subjects = Array.from({ length: KEYS }, (_, i) => ({ account: `acct-${i}` }));
    const s = await measure((i) => sluice.check(subjects[i]), 1);
    report(`SQLite store (WAL, synchronous=NORMAL): ${fmt(s.rate)} decisions/s, p99 ${ms(s.p99)}`);
    await sluice.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await run();
