// Key flood against the eviction policy (issue 17), full scale, run once by hand:
//   flock /tmp/sluice-bench.lock node --expose-gc bench/eviction-flood.mjs [library|service|new-keys] [dist dir]
// library: 10^7 distinct keys through checkSync into a memory store of maxKeys 10^6;
// service: 10^6 distinct keys through /v1/check/batch into a service of --max-keys 10^5.
// Against a victim at its limit (60/1m, sliding log), a login locked by its block (15 min),
// and 1,000 legitimate keys below their limit. "Extra" admissions and "wrongly refused"
// legit checks are counted against a reference engine that sees the same checks at the
// same instants but not the flood. Bounded: the flood stops after its count or 240 s.
// new-keys: one-call keys flood 60/1m within one window (maxKeys 1,000: 10^4…2·10^5 keys, and
// 2·10^6, past the filters' cap; maxKeys 10^5: 10^6), then 200 accounts never seen make their
// first call: how many are admitted, and how many units each started with already used
// (NEW_KEYS_CASE=maxKeys,flood runs one case, e.g. 1000000,10000000).
// The optional dist dir runs an older build (e.g. main's) for the before/after table.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const mode = process.argv[2] ?? 'library';
const dist = pathToFileURL(resolve(process.argv[3] ?? new URL('../dist', import.meta.url).pathname) + '/').href;
const { Sluice } = await import(dist + 'index.js');
const { MemoryStore } = await import(dist + 'stores/memory.js');

const policy = {
  rules: [
    { name: 'api', match: { api: 'x' }, key: 'account', limit: '60/1m' },
    { name: 'login', match: { api: 'Login' }, key: 'user', limit: '3/3m', count: 'failure', block: '15m' },
  ],
};
const TIME_CAP_MS = 240_000;
const mb = (b) => `${(b / 2 ** 20).toFixed(1)} MiB`;
/** Heap in use after a full collection (run with --expose-gc), so garbage is not counted. */
const heapUsed = () => (globalThis.gc?.(), process.memoryUsage().heapUsed);

let t = Date.UTC(2026, 0, 5, 9, 0, 0);
const clock = () => t;
const reference = Sluice.openSync({ policy, clock });

if (mode === 'library') await library();
else if (mode === 'new-keys') newKeys();
else await service();

function newKeys() {
  const cases = process.env.NEW_KEYS_CASE ? [process.env.NEW_KEYS_CASE.split(',').map(Number)] : [
    [1000, 10_000],
    [1000, 50_000],
    [1000, 200_000],
    [100_000, 1_000_000],
    [1000, 2_000_000], // past the filters' cap (524,288 keys a rule at maxKeys 1,000)
  ];
  for (const [maxKeys, flood] of cases) {
    const store = new MemoryStore({ maxKeys });
    const sluice = Sluice.openSync({ policy, store, clock });
    const subject = { api: 'x', account: '' };
    const start = Date.now();
    for (let i = 0; i < flood; i++) {
      t += 40_000 / flood; // within 40 s of the 60 s window
      subject.account = `f${maxKeys}-${i}`;
      sluice.checkSync(subject);
    }
    const ms = Date.now() - start;
    let admitted = 0;
    const charged = [];
    for (let i = 0; i < 200; i++) {
      const d = sluice.checkSync({ api: 'x', account: `new-${maxKeys}-${flood}-${i}` });
      if (d.allowed) {
        admitted++;
        charged.push(59 - d.remaining);
      }
    }
    charged.sort((a, b) => a - b);
    const q = (f) => (charged.length ? charged[Math.min(charged.length - 1, Math.floor(f * charged.length))] : null);
    console.log(
      JSON.stringify({
        bench: 'eviction-flood',
        door: 'new-keys',
        dist,
        maxKeys,
        floodKeys: flood,
        keysPerSecond: Math.round(flood / (ms / 1000)),
        newFirstCallsAdmitted: `${admitted}/200`,
        chargedUnitsMedian: q(0.5),
        chargedUnitsMax: charged.length ? charged[charged.length - 1] : null,
        trace: mb(store.traceBytes ?? 0),
      }),
    );
    t += 120_000; // the next case starts after this one's window
  }
}

async function library() {
  const FLOOD = 10_000_000;
  const MAX_KEYS = 1_000_000;
  const store = new MemoryStore({ maxKeys: MAX_KEYS });
  const sluice = Sluice.openSync({ policy, store, clock });
  const c = counters();
  const both = (s) => [sluice.checkSync(s).allowed, reference.checkSync(s).allowed];
  await prepare(both, (s, o) => Promise.all([sluice.record(s, o), reference.record(s, o)]));
  const heap0 = heapUsed();
  const start = Date.now();
  const flood = { api: 'x', account: '' };
  const floodLogin = { api: 'Login', user: '' };
  let i = 0;
  for (; i < FLOOD && (i % 65536 !== 0 || Date.now() - start < TIME_CAP_MS); i++) {
    t += 0.004; // 10^7 keys over 40 s of the 60 s window
    if (i & 1) {
      flood.account = `f${i}`;
      sluice.checkSync(flood);
    } else {
      floodLogin.user = `f${i}`;
      sluice.checkSync(floodLogin);
    }
    if (i % 1000 === 0) legitAndVictims(both, c, i / 1000);
  }
  report('library checkSync', i, Date.now() - start, c, { keys: store.keyCount, maxKeys: MAX_KEYS, traceBytes: store.traceBytes ?? 0, heap: heapUsed() - heap0 });
}

async function service() {
  const { serve } = await import(dist + 'server/serve.js');
  const { pino } = await import('pino');
  const FLOOD = 1_000_000;
  const MAX_KEYS = 100_000;
  const BATCH = 1000;
  const store = new MemoryStore({ maxKeys: MAX_KEYS });
  const h = await serve({ policy, store, clock, port: 0, host: '127.0.0.1', logger: pino({ level: 'silent' }), handleSignals: false, watch: false, processMetrics: false, maxKeys: MAX_KEYS });
  const post = async (path, body) => {
    const r = await fetch(h.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    await r.arrayBuffer();
    return r.status;
  };
  const c = counters();
  const both = async (s) => [(await post('/v1/check', { subject: s })) === 200, reference.checkSync(s).allowed];
  await prepare(both, async (s, o) => {
    await post('/v1/record', { subject: s, outcome: o });
    await reference.record(s, o);
  });
  const heap0 = heapUsed();
  const start = Date.now();
  let sent = 0;
  for (let b = 0; sent < FLOOD && Date.now() - start < TIME_CAP_MS; b++) {
    t += 4; // 10^6 keys over 4 s
    const checks = Array.from({ length: BATCH }, (_, i) => (i & 1 ? { subject: { api: 'x', account: `f${sent + i}` } } : { subject: { api: 'Login', user: `f${sent + i}` } }));
    if ((await post('/v1/check/batch', { checks })) !== 200) throw new Error('batch failed');
    sent += BATCH;
    await legitAndVictims(both, c, b);
  }
  report('service /v1/check/batch', sent, Date.now() - start, c, { keys: store.keyCount, maxKeys: MAX_KEYS, traceBytes: store.traceBytes ?? 0, heap: heapUsed() - heap0 });
  await h.close();
}

function counters() {
  return { victimChecks: 0, victimExtra: 0, legitChecks: 0, legitWronglyRefused: 0, legitExtra: 0, used: new Map() };
}

async function prepare(both, record) {
  for (let i = 0; i < 60; i++) await both({ api: 'x', account: 'victim' });
  const [f, r] = await both({ api: 'x', account: 'victim' });
  if (f || r) throw new Error('victim not at its limit');
  for (let i = 0; i < 4; i++) await record({ api: 'Login', user: 'bob' }, { status: 401, success: false });
}

/** The victims' and one legit key's checks (sync when `both` is: the library loop never yields). */
function legitAndVictims(both, c, n) {
  const results = [{ api: 'x', account: 'victim' }, { api: 'Login', user: 'bob' }].map(both);
  const account = `legit-${n % 1000}`;
  const used = c.used.get(account) ?? 0;
  const legit = used < 50 ? both({ api: 'x', account }) : undefined;
  const tally = (victims, l) => {
    for (const [f, r] of victims) {
      c.victimChecks++;
      if (f && !r) c.victimExtra++;
    }
    if (l === undefined) return;
    const [f, r] = l;
    c.legitChecks++;
    if (f) c.used.set(account, used + 1);
    if (r && !f) c.legitWronglyRefused++;
    if (f && !r) c.legitExtra++;
  };
  if (results[0] instanceof Promise) return Promise.all([Promise.all(results), legit]).then(([v, l]) => tally(v, l));
  tally(results, legit);
}

function report(name, flood, ms, c, mem) {
  console.log(
    JSON.stringify({
      bench: 'eviction-flood',
      door: name,
      dist,
      floodKeys: flood,
      seconds: +(ms / 1000).toFixed(1),
      keysPerSecond: Math.round(flood / (ms / 1000)),
      victimChecks: c.victimChecks,
      victimExtraAdmissions: c.victimExtra,
      legitChecks: c.legitChecks,
      legitWronglyRefused: c.legitWronglyRefused,
      legitWronglyRefusedPct: +((100 * c.legitWronglyRefused) / Math.max(1, c.legitChecks)).toFixed(3),
      legitExtra: c.legitExtra,
      storeKeys: mem.keys,
      maxKeys: mem.maxKeys,
      trace: mb(mem.traceBytes),
      heapGrowth: mb(mem.heap),
      rss: mb(process.memoryUsage().rss),
    }),
  );
}
