// Simulator benchmark: lines/s and peak RSS of `sluice simulate` end to end (the real CLI,
// as a child process: read, parse, derive the subject, decide, record, tally, summarise)
// on a generated Combined-format log of 10^7 lines, for each seed policy; next to the
// floor, a bare Node read-and-split of the same file (what any JS log reader pays before
// parsing a byte). Runs are interleaved; medians with the spread (min–max) are printed.
// Run alone: npm run build && node bench/simulate.mjs   (BENCH_SIMULATE_LINES=n for a
// shorter log, BENCH_SIMULATE_REPS=n repetitions, default 3 for the headline policy;
// BENCH_SIMULATE_ROUTES=file another route table, e.g. bench/support/routes-trusted-proxies.yaml,
// whose subject: trusts proxies, so every line asks whether its peer is one;
// BENCH_SIMULATE_CLI=file another build of the CLI, to set two builds side by side).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CLI = process.env.BENCH_SIMULATE_CLI ?? `${ROOT}dist/cli.js`;
const LINES = Number(process.env.BENCH_SIMULATE_LINES ?? 1e7);
const REPS = Number(process.env.BENCH_SIMULATE_REPS ?? 3);
const LOG = `${ROOT}.bench/simulate-${LINES}.log`;
const ROUTES = process.env.BENCH_SIMULATE_ROUTES ?? `${ROOT}examples/simulate/routes.yaml`;
const POLICIES = ['contact-center-ai.yaml', 'smartassist.yaml', 'picky-assist.yaml', 'ccaas-recordings.yaml'];

function node(args) {
  return new Promise((resolve, reject) => {
    const t = process.hrtime.bigint();
    const child = spawn(process.execPath, ['-r', `${ROOT}bench/support/rss-on-exit.cjs`, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => {
      const secs = Number(process.hrtime.bigint() - t) / 1e9;
      const m = /@@bench (.*)/.exec(err);
      if (code !== 0 || !m) return reject(new Error(`exit ${code}: ${err.slice(0, 500)}`));
      const b = JSON.parse(m[1]);
      resolve({ secs, cpuSecs: b.cpuSecs, rssMiB: b.maxRssKiB / 1024, out });
    });
  });
}

/** The floor: read the file and split it into lines, nothing else. */
async function splitOnly() {
  return node(['-e', `
    const { createReadStream } = require('node:fs');
    const { StringDecoder } = require('node:string_decoder');
    (async () => {
      const d = new StringDecoder('utf8'); let n = 0, carry = '';
      for await (const c of createReadStream(${JSON.stringify(LOG)}, { highWaterMark: 1 << 20 })) {
        const t = carry + d.write(c); let s = 0;
        for (let i = t.indexOf('\\n'); i >= 0; i = t.indexOf('\\n', s)) { const line = t.slice(s, i); n += line.length > 0; s = i + 1; }
        carry = t.slice(s);
      }
      console.log(n);
    })();`]);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const spread = (xs) => `${Math.round(Math.min(...xs) / 1e3)}k–${Math.round(Math.max(...xs) / 1e3)}k`;

export async function run() {
  mkdirSync(`${ROOT}.bench`, { recursive: true });
  if (!existsSync(LOG) || statSync(LOG).size === 0) {
    const g = await node([CLI, 'simulate', '--generate', LOG, '--lines', String(LINES), '--seed', '1']);
    console.log(`generated ${LINES.toLocaleString('en-US')} lines (${(statSync(LOG).size / 2 ** 20).toFixed(0)} MiB) in ${g.secs.toFixed(1)} s`);
  }
  const results = new Map();
  const add = (name, r) => {
    if (!results.has(name)) results.set(name, []);
    results.get(name).push(r);
  };
  for (let rep = 0; rep < REPS; rep++) {
    add('read + split lines only (floor)', await splitOnly());
    for (const [i, p] of POLICIES.entries()) {
      if (i > 0 && rep > 0) continue; // the other seeds once; the headline policy every repetition
      const r = await node([CLI, 'simulate', '--config', `${ROOT}examples/${p}`, '--routes', ROUTES, '--log', LOG, '--json']);
      const json = JSON.parse(r.out);
      if (json.lines !== LINES || json.unparsed !== 0) throw new Error(`${p}: read ${json.lines} lines, ${json.unparsed} unparsed`);
      add(`simulate ${p}`, { ...r, refused: json.rules.reduce((n, x) => n + x.refused + x.dropped, 0) });
    }
  }
  const floor = median(results.get('read + split lines only (floor)').map((r) => LINES / r.secs));
  console.log(`\n${LINES.toLocaleString('en-US')} Combined-format lines, end to end (process start to exit), median of runs (spread);`);
  console.log('lines per CPU-second too: on a shared machine the wall clock also counts time spent waiting for a core.');
  for (const [name, rs] of results) {
    const rates = rs.map((r) => LINES / r.secs);
    const m = median(rates);
    console.log(
      `  ${name.padEnd(40)} ${String(Math.round(m / 1e3)).padStart(5)}k lines/s (${spread(rates)}, n=${rs.length})  ${median(rs.map((r) => r.secs)).toFixed(1).padStart(5)} s  ${String(Math.round(median(rs.map((r) => LINES / r.cpuSecs)) / 1e3)).padStart(5)}k lines/CPU-s  peak RSS ${Math.round(Math.max(...rs.map((r) => r.rssMiB)))} MiB  ${(m / floor).toFixed(2)}× floor${rs[0].refused !== undefined ? `  refused ${rs[0].refused.toLocaleString('en-US')}` : ''}`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
