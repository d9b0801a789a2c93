// Benchmark of Envoy's gRPC ShouldRateLimit, side by side with peers in one run, h2load as the
// client (the grpc-js client tops out near 6k calls/s here, below what the servers do):
//   grpc-js     the floor: bench/floors/bare-grpc.mjs, a bare @grpc/grpc-js server with rls.proto
//               answering OK without deciding; every ratio is against it (issue 16: Sluice ≥ 1.2×)
//   node-http2  a bare node:http2 server that reads the request and answers Sluice's own answer
//               bytes (computed once at start), deciding nothing: the ceiling of any server on node:http2
//   sluice      startEnvoyGrpc (dist/envoy) on the memory store: decode, decide, encode, every call
// Each server runs in its own process; h2load sends the same framed RateLimitRequest to each
// (127.0.0.1 only, 1 s warm-up, then BENCH_DURATION s). Rounds interleave the targets, each
// figure is the median over rounds with the spread (min–max), each ratio the median of the
// per-round ratios. Server CPU per call is read from /proc (it holds even when the machine is shared).
//
//   npm run build && flock /tmp/sluice-bench.lock node bench/grpc.mjs
//   (BENCH_DURATION=5 BENCH_ROUNDS=3 BENCH_GRPC_CONNECTIONS=10 BENCH_GRPC_STREAMS=20)
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const here = fileURLToPath(import.meta.url);
const dist = new URL('../dist/', import.meta.url);
const H2LOAD = '/usr/bin/h2load';
const DURATION = Number(process.env.BENCH_DURATION ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_GRPC_CONNECTIONS ?? 10);
const STREAMS = Number(process.env.BENCH_GRPC_STREAMS ?? 20);
const PATH = '/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit';
const RLS_PROTO = fileURLToPath(new URL('../proto/envoy/service/ratelimit/v3/rls.proto', import.meta.url));
const FLOOR = fileURLToPath(new URL('./floors/bare-grpc.mjs', import.meta.url));

// RateLimitRequest { domain: "bench", descriptors: [{ entries: [{ key: "account", value: "acme" }] }] }, gRPC-framed.
const REQUEST = Buffer.from('000000001a0a0562656e636812110a0f0a076163636f756e74120461636d65', 'hex');
const REQUEST_OBJECT = { domain: 'bench', descriptors: [{ entries: [{ key: 'account', value: 'acme' }] }] };
// An envoy ratelimit config with a limit the run never reaches: every call admits and charges.
const ENVOY_CONFIG = `
domain: bench
descriptors:
  - key: account
    rate_limit: { unit: hour, requests_per_unit: 1000000000 }
`;

// ---------------------------------------------------------------- child side

async function child(kind, port) {
  const { loadEnvoyConfig, EnvoyRateLimiter, startEnvoyGrpc } = await import(new URL('envoy/index.js', dist).href);
  const { MemoryStore } = await import(new URL('stores/memory.js', dist).href);
  const limiter = new EnvoyRateLimiter(loadEnvoyConfig(ENVOY_CONFIG), new MemoryStore());
  if (kind === 'sluice') {
    await startEnvoyGrpc({ port, limiter });
  } else {
    const { default: http2 } = await import('node:http2');
    const { encodeRateLimitResponse } = await import(new URL('envoy/grpc-codec.js', dist).href);
    const answer = encodeRateLimitResponse(await limiter.shouldRateLimit(REQUEST_OBJECT));
    const server = http2.createServer();
    server.on('stream', (stream) => {
      stream.on('error', () => {});
      const chunks = [];
      stream.on('data', (c) => chunks.push(c));
      stream.on('end', () => {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(answer);
      });
    });
    await new Promise((r) => server.listen(port, '127.0.0.1', r));
  }
}

// ---------------------------------------------------------------- driver side

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

async function listening(port) {
  for (let i = 0; i < 150; i++) {
    const ok = await new Promise((r) => {
      const s = new Socket();
      s.once('connect', () => (s.destroy(), r(true)));
      s.once('error', () => r(false));
      s.connect(port, '127.0.0.1');
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on ${port} after 15 s`);
}

/** User+system CPU of a process so far, in µs (from /proc/PID/stat, in clock ticks of 10 ms). */
function cpuUs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

async function startServer(kind) {
  const port = await freePort();
  const args = kind === 'grpc-js' ? [FLOOR, String(port), RLS_PROTO] : [here, '--child', kind, String(port)];
  const p = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise((_, reject) => p.once('exit', (code) => reject(new Error(`${kind} exited with ${code}`))));
  await Promise.race([listening(port), exited]);
  return { port, pid: p.pid, stop: () => p.kill('SIGKILL') };
}

async function h2load(port, body, duration) {
  const args = ['-c', String(CONNECTIONS), '-m', String(STREAMS), '-d', body, '-H', 'content-type: application/grpc', '-H', 'te: trailers', `http://127.0.0.1:${port}${PATH}`];
  const timing = duration ? ['-D', String(duration), '--warm-up-time=1'] : ['-n', '2000'];
  const { stdout } = await promisify(execFile)(H2LOAD, [...timing, ...args], { timeout: (duration + 30) * 1000, maxBuffer: 1 << 20 });
  const done = /requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(stdout);
  const rps = /finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(stdout);
  const mean = /time for request:\s+\S+\s+\S+\s+(\S+)/.exec(stdout);
  if (!done || !rps) throw new Error(`h2load output not understood:\n${stdout}`);
  return { rps: Number(rps[1]), calls: Number(done[2]), errors: Number(done[4]) + Number(done[5]) + Number(done[6]), meanLatency: mean?.[1] ?? '?' };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const LABELS = { 'grpc-js': 'bare grpc-js (floor)', 'node-http2': 'bare node:http2, same bytes', sluice: 'sluice ShouldRateLimit, memory' };

export async function run() {
  if (!existsSync(H2LOAD)) {
    console.log(`!! SKIPPED the gRPC benchmark: ${H2LOAD} not found (apt-get install nghttp2-client)`);
    return undefined;
  }
  if (!existsSync(new URL('envoy/grpc.js', dist))) throw new Error('dist/envoy/grpc.js is missing: run `npm run build` first');
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-grpc-'));
  const body = join(dir, 'request.bin');
  writeFileSync(body, REQUEST);
  const kinds = ['grpc-js', 'node-http2', 'sluice'];
  const rounds = {};
  try {
    for (let round = 0; round < ROUNDS; round++) {
      // Rotate who goes first, so a drift in the machine's speed hits them alike.
      for (const kind of kinds.map((_, i) => kinds[(i + round) % kinds.length])) {
        const s = await startServer(kind);
        try {
          await h2load(s.port, body, 0); // connections, JIT
          const cpu0 = cpuUs(s.pid);
          const r = await h2load(s.port, body, DURATION);
          r.cpuUs = (cpuUs(s.pid) - cpu0) / Math.max(1, r.calls);
          (rounds[kind] ??= []).push(r);
        } finally {
          s.stop();
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  console.log(`\ngRPC ShouldRateLimit, h2load ${CONNECTIONS} connections × ${STREAMS} streams, ${DURATION} s each, ${ROUNDS} interleaved rounds, medians (node ${process.version})`);
  console.log('target                           calls/s (min–max)       vs grpc-js (min–max)   vs node:http2 (min–max)   server CPU µs/call   errors');
  const summary = {};
  const ratio = (kind, base) => {
    const xs = rounds[kind].map((r, i) => r.rps / rounds[base][i].rps);
    return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
  };
  const fmt = (r) => `${r.median.toFixed(2)} (${r.min.toFixed(2)}–${r.max.toFixed(2)})`;
  for (const kind of kinds) {
    const rs = rounds[kind];
    const rps = rs.map((r) => r.rps);
    const row = { rps: median(rps), vsGrpcJs: ratio(kind, 'grpc-js'), vsHttp2: ratio(kind, 'node-http2'), cpuUs: median(rs.map((r) => r.cpuUs)), errors: rs.reduce((a, r) => a + r.errors, 0) };
    summary[kind] = row;
    console.log(`${LABELS[kind].padEnd(32)} ${`${row.rps.toFixed(0).padStart(6)} (${Math.min(...rps).toFixed(0)}–${Math.max(...rps).toFixed(0)})`.padEnd(24)}${fmt(row.vsGrpcJs).padEnd(23)}${fmt(row.vsHttp2).padEnd(26)}${row.cpuUs.toFixed(1).padStart(8)}${String(row.errors).padStart(17)}`);
  }
  const cpuRatio = summary['grpc-js'].cpuUs / summary.sluice.cpuUs;
  const s = summary.sluice.vsGrpcJs;
  console.log(`\nsluice gRPC: ${s.median.toFixed(2)}× bare grpc-js in calls/s (spread ${s.min.toFixed(2)}–${s.max.toFixed(2)}), ${cpuRatio.toFixed(2)}× less server CPU per call; target ≥ 1.2×: ${s.median >= 1.2 && summary.sluice.errors === 0 ? 'PASS' : 'FAIL'}`);
  return { summary, rounds };
}

if (process.argv[2] === '--child') {
  await child(process.argv[3], Number(process.argv[4]));
} else if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  await run();
}
