// Gateway overhead, measured side by side in one run: autocannon (50 connections, ~5 s
// each) against (1) the upstream directly, (2) a bare undici reverse proxy with no
// limiting, written here the same way the gateway proxies (Pool, keep-alive, dispatch
// handler streaming the body), and (3) the Sluice gateway (memory store, a policy whose
// rules admit everything: a per-account and a per-IP rule, a route table, header-derived
// subject). Prints requests/s, p99 latency and the ratios.
//
//   npm run build && node bench/gateway.mjs        (or import and call run())
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import { Pool } from 'undici';
import { startGateway } from '../dist/gateway/index.js';

const DURATION = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = 50;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authenticate', 'proxy-authorization']);

function listen(server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${server.address().port}`)));
}

async function startUpstream() {
  const body = JSON.stringify({ ok: true, items: [1, 2, 3], note: 'a small JSON answer' });
  const server = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  server.keepAliveTimeout = 65_000;
  return { url: await listen(server), close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }) };
}

/** A bare reverse proxy: no limiting, same proxying technique as the gateway. */
async function startBareProxy(upstream) {
  const origin = new URL(upstream).origin;
  const pool = new Pool(origin, { connections: 128, pipelining: 1, keepAliveTimeout: 10_000 });
  const server = createServer((req, res) => {
    const headers = {};
    for (const k in req.headers) if (!HOP.has(k)) headers[k] = req.headers[k];
    headers['x-forwarded-for'] = req.socket.remoteAddress;
    const hasBody = (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0') || req.headers['transfer-encoding'] !== undefined;
    pool.dispatch(
      { origin, path: req.url, method: req.method, headers, body: hasBody ? req : null },
      {
        onRequestStart() {},
        onResponseStart(_c, status, h) {
          const out = {};
          for (const k in h) if (!HOP.has(k)) out[k] = h[k];
          res.writeHead(status, out);
        },
        onResponseData(c, chunk) {
          if (!res.write(chunk)) {
            c.pause();
            res.once('drain', () => c.resume());
          }
        },
        onResponseEnd() {
          res.end();
        },
        onResponseError(_c, err) {
          if (res.headersSent) return res.destroy(err);
          res.writeHead(502, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { code: 'upstream_unavailable', message: err.message } }));
        },
      },
    );
  });
  server.keepAliveTimeout = 65_000;
  return { url: await listen(server), close: async () => { server.closeAllConnections(); await new Promise((r) => server.close(r)); await pool.close(); } };
}

const POLICY = {
  version: 1,
  groups: { reads: ['List Items', 'Get Item'] },
  rules: [
    { name: 'per-account', match: { api: { group: 'reads' } }, key: ['account'], limit: '100000000/1m', algorithm: 'sliding-window' },
    { name: 'per-ip', key: ['ip'], limit: '100000000/1h', algorithm: 'gcra' },
  ],
  routes: [
    { method: 'GET', path: '/v1/items', api: 'List Items' },
    { method: 'GET', path: '/v1/items/:id', api: 'Get Item' },
  ],
};

function cannon(url) {
  return new Promise((resolve, reject) => {
    autocannon(
      { url: `${url}/v1/items/42`, connections: CONNECTIONS, duration: DURATION, headers: { 'x-account-id': 'acct-bench' } },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
  });
}

function summarize(name, r) {
  return { name, rps: Math.round(r.requests.average), p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors + r.timeouts };
}

export async function run() {
  const upstream = await startUpstream();
  const bare = await startBareProxy(upstream.url);
  const gw = await startGateway({ policy: POLICY, upstream: upstream.url, subject: { headers: { 'x-account-id': 'account' } } });
  try {
    // Warm-up (JIT, connection pools), not reported.
    await cannon(bare.url);
    await cannon(gw.url);
    // Interleaved rounds, best of each: on a shared machine one round alone is at the mercy of
    // whatever else runs, and the order of targets would bias the ratio.
    const best = { direct: undefined, proxy: undefined, sluice: undefined };
    const keep = (k, name, r) => {
      const s = summarize(name, r);
      if (!best[k] || s.rps > best[k].rps) best[k] = s;
    };
    for (let round = 0; round < ROUNDS; round++) {
      keep('direct', 'upstream (direct)', await cannon(upstream.url));
      keep('proxy', 'bare undici proxy', await cannon(bare.url));
      keep('sluice', 'sluice gateway', await cannon(gw.url));
    }
    const { direct, proxy, sluice } = best;
    const rows = [direct, proxy, sluice];
    console.log(`\nGateway benchmark: ${CONNECTIONS} connections, ${DURATION} s per run, best of ${ROUNDS} interleaved rounds, GET /v1/items/42 (small JSON)\n`);
    console.log('target'.padEnd(22) + 'req/s'.padStart(10) + 'p99 ms'.padStart(9) + 'non-2xx'.padStart(9) + 'errors'.padStart(8));
    for (const r of rows) console.log(r.name.padEnd(22) + String(r.rps).padStart(10) + String(r.p99).padStart(9) + String(r.non2xx).padStart(9) + String(r.errors).padStart(8));
    const ratio = sluice.rps / proxy.rps;
    console.log(`\nsluice gateway / bare proxy: ${(ratio * 100).toFixed(1)}% of requests/s (target ≥ 85%)`);
    console.log(`bare proxy / upstream direct: ${((proxy.rps / direct.rps) * 100).toFixed(1)}%`);
    console.log(`sluice gateway / upstream direct: ${((sluice.rps / direct.rps) * 100).toFixed(1)}%`);
    return { direct, proxy, sluice, ratio };
  } finally {
    await gw.close();
    await bare.close();
    await upstream.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  run().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
