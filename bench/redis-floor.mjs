// The floor at 1 check in flight: what one round trip to Redis costs from Node, through ioredis
// and through a bare net.Socket, for PING and for Sluice's own FCALL (the bytes the store sends).
// Interleaved rounds, medians, spread. Run: node --expose-gc bench/redis-floor.mjs
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { Sluice, connectRedisStore } from '../dist/index.js';
import { startRedis } from './redis.mjs';

const CASE_MS = Number(process.env.BENCH_CASE_MS ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

async function rate(fn) {
  const warm = performance.now() + 200;
  while (performance.now() < warm) await fn();
  globalThis.gc?.();
  let n = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + CASE_MS;
  while (performance.now() < end) { await fn(); n++; }
  const c = process.cpuUsage(c0);
  return { rate: n / ((performance.now() - t0) / 1000), cpu: (c.user + c.system) / n };
}

/** A raw socket that sends `bytes` and resolves when one whole reply of `replyLen` bytes arrived. */
function rawCaller(port, bytes, replyLen) {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1', noDelay: true });
    let got = 0;
    let done;
    s.on('data', (d) => { got += d.length; if (got >= replyLen) { got -= replyLen; const f = done; done = undefined; f(); } });
    s.on('connect', () => resolve({ call: () => new Promise((r) => { done = r; s.write(bytes); }), close: () => s.destroy() }));
  });
}

const resp = (args) => Buffer.concat([Buffer.from(`*${args.length}\r\n`), ...args.map((a) => { const b = Buffer.from(a); return Buffer.concat([Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n')]); })]);

const redis = await startRedis();
try {
  const store = await connectRedisStore(`redis://127.0.0.1:${redis.port}`, { requireConnection: true, timeoutMs: 2000 });
  const sluice = await Sluice.open({ policy: 'version: 1\nrules:\n  - name: per-account\n    key: [account]\n    limit: 1000000/1m\n    algorithm: fixed-window\n', store });
  await sluice.check({ account: 'a' });
  // The same engine with the transaction calls through ioredis (no lean connection), and the peer.
  const viaIo = await Sluice.open({ policy: 'version: 1\nrules:\n  - name: per-account\n    key: [account]\n    limit: 1000000/1m\n    algorithm: fixed-window\n', store: await connectRedisStore(`redis://127.0.0.1:${redis.port}`, { requireConnection: true, timeoutMs: 2000, leanConnection: false }) });
  const rlf = new RateLimiterRedis({ storeClient: new Redis({ port: redis.port, host: '127.0.0.1' }), points: 1_000_000, duration: 60, keyPrefix: 'rlf' });
  const io = new Redis({ port: redis.port, host: '127.0.0.1' });
  const fns = await io.call('FUNCTION', 'LIST');
  const fn = fns[0][5][0][1];
  // The FCALL a lone check sends (see RedisStore: keys, the override index, the flags, one transaction).
  const fcallArgs = ['FCALL', fn, '2', 'sluice:{per-account|a}:v3', 'sluice:overrides', '0x', '-,1,1/3,1000000,60000,-,-;1,1,t,8'];
  // Measure the reply's byte length once over a raw socket.
  const replyBytes = await new Promise((resolve) => { const s = connect({ port: redis.port, host: '127.0.0.1' }); let b = Buffer.alloc(0); s.on('data', (d) => { b = Buffer.concat([b, d]); if (b.length >= 70) setTimeout(() => { s.destroy(); resolve(b.length); }, 50); }); s.on('connect', () => s.write(resp(fcallArgs))); });
  const rawPing = await rawCaller(redis.port, Buffer.from('*1\r\n$4\r\nPING\r\n'), 7);
  const rawFcall = await rawCaller(redis.port, resp(fcallArgs), replyBytes);
  const fcallText = resp(fcallArgs).toString('latin1');
  const ops = Array.from({ length: 10000 }, (_, j) => [{ key: `per-account|acct-${j}`, tag: `per-account|acct-${j}`, algorithm: 'fixed-window', params: { limit: 1_000_000, windowMs: 60_000 }, cost: 1, mode: 'take', shadow: false, chargeRejected: false, blockMs: 0, blockOnly: false }]);
  const subjects = Array.from({ length: 10000 }, (_, i) => ({ account: `acct-${i}` }));
  let i = 0;
  const cases = {
    'ioredis PING': () => io.ping(),
    'raw PING': () => rawPing.call(),
    'ioredis FCALL': () => io.callBuffer(...fcallArgs),
    'raw FCALL': () => rawFcall.call(),
    'lean FCALL': () => store.lean.call(fcallText),
    'store.apply': () => store.apply(ops[i++ % 10000], 0),
    'sluice.check': () => sluice.check(subjects[i++ % 10000]),
    'sluice via io': () => viaIo.check(subjects[i++ % 10000]),
    'RLF consume': () => rlf.consume(subjects[i++ % 10000].account),
  };
  const runs = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  for (let r = 0; r < ROUNDS; r++) for (const [k, f] of Object.entries(cases)) runs[k].push(await rate(f));
  const base = runs['ioredis PING'];
  console.log(`1 in flight, ${ROUNDS} interleaved rounds of ${CASE_MS} ms; rate ratio to ioredis PING in the same round (median, min–max); Node CPU µs per call (median)`);
  for (const [k, xs] of Object.entries(runs)) {
    const ratios = xs.map((x, j) => x.rate / base[j].rate);
    const r = median(xs.map((x) => x.rate));
    console.log(`${k.padEnd(16)} ${(r / 1000).toFixed(1)}k/s  ${(1e6 / r).toFixed(1)} µs/call  ratio ${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})  cpu ${median(xs.map((x) => x.cpu)).toFixed(1)} µs`);
  }
  rawPing.close(); rawFcall.close(); io.disconnect();
  await sluice.close();
  await viaIo.close();
  rlf.client.disconnect();
} finally {
  await redis.stop();
}
