// Client SDK benchmark: sluice/client calling an API behind the Sluice gateway that allows
// 5 requests per 2 s (the default rolling window, a sliding log), over real sockets on
// 127.0.0.1. Prints the rate the client achieved against the rate the server allows, and how
// many 429s the server sent (retried inside the client) and how many reached the caller.
// The nominal rate (limit/window) is not what every algorithm admits: a sliding-window counter
// weights the previous window, so a steady caller gets 4 of 5 per window at most. Each case is
// therefore also put against its oracle: the fastest the same algorithm admits CALLS calls from
// the same start instant (stepping the real algorithm, answers taking no time).
// Bounded: 20 calls per case. Run alone: node bench/client.mjs
import { createServer } from 'node:http';
import { createClient } from '../dist/client/index.js';
import { startGateway } from '../dist/gateway/index.js';
import { algorithms, fastestAdmissions } from '../dist/algorithms/index.js';

const LIMIT = 5;
const WINDOW_MS = 2000;
const CALLS = Number(process.env.BENCH_CLIENT_CALLS ?? 20);

/** One case: `workers` loops sharing `CALLS` calls through one client. */
async function measure(workers, algorithm) {
  const upstream = createServer((_req, res) => res.end('ok'));
  await new Promise((r) => upstream.listen(0, '127.0.0.1', r));
  const rule = { name: 'api', limit: `${LIMIT}/${WINDOW_MS / 1000}s`, ...(algorithm ? { algorithm } : {}) };
  const gw = await startGateway({ policy: { rules: [rule] }, upstream: `http://127.0.0.1:${upstream.address().port}` });
  let refusedByServer = 0;
  const client = createClient({ onEvent: (e) => e.type === 'retry' && e.status === 429 && refusedByServer++ });
  let next = 0;
  let toCaller = 0;
  const oracleMs = oracle(algorithm ?? 'sliding-log', Date.now());
  const t0 = performance.now();
  try {
    await Promise.all(
      Array.from({ length: workers }, async () => {
        while (next < CALLS) {
          next++;
          const res = await client.fetch(`${gw.url}/items`);
          if (res.status === 429) toCaller++;
          await res.text();
        }
      }),
    );
  } finally {
    await gw.close();
    upstream.close();
  }
  const secs = (performance.now() - t0) / 1000;
  return { secs, refusedByServer, toCaller, oracleSecs: oracleMs / 1000 };
}

/** Ms from `t0` until the algorithm could have admitted CALLS calls, each at the first instant it allows. */
function oracle(name, t0) {
  return fastestAdmissions(algorithms[name], { limit: LIMIT, windowMs: WINDOW_MS }, t0, CALLS) - t0;
}

export async function run(report = console.log) {
  const allowed = LIMIT / (WINDOW_MS / 1000);
  report(`sluice/client against the gateway allowing ${LIMIT} per ${WINDOW_MS / 1000} s (${allowed}/s), ${CALLS} calls per case, 127.0.0.1`);
  report('| algorithm | callers | time | achieved (calls/time) | of allowed | steady state ((calls − burst)/time) | oracle time | of the oracle rate | 429s retried inside | 429s to the caller |');
  report('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const [algorithm, workers] of [[undefined, 1], [undefined, 4], ['fixed-window', 1], ['gcra', 1], ['sliding-window', 1]]) {
    const r = await measure(workers, algorithm);
    const achieved = CALLS / r.secs;
    const steady = (CALLS - LIMIT) / r.secs;
    report(`| ${algorithm ?? 'sliding-log (default)'} | ${workers} | ${r.secs.toFixed(2)} s | ${achieved.toFixed(2)}/s | ${((100 * achieved) / allowed).toFixed(0)}% | ${((100 * steady) / allowed).toFixed(0)}% | ${r.oracleSecs.toFixed(2)} s | ${((100 * r.oracleSecs) / r.secs).toFixed(0)}% | ${r.refusedByServer} | ${r.toCaller} |`);
  }
}

if (process.argv[1] && new URL(import.meta.url).pathname === process.argv[1]) await run();
