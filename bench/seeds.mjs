// Seed-policies benchmark: the four example policies (examples/*.yaml) under generated traffic
// the way their users would send it (100k+ distinct accounts / tenants / users / IPs, a hot
// few who get refused, a share of keys with custom limits, failed logins recorded after the
// attempt, downloads' bytes recorded after the response), each beside rate-limiter-flexible
// configured to do the same rules (one RateLimiterMemory per rule, a second one for keys with
// a custom limit, blockDuration / block() for the penalties), and the exact sliding log alone
// (1000/1m, 100k keys) beside the bare Map GCRA loop of /work/shared/floors. Contenders run in
// interleaved slices on the same request sequence; each row is the median of its slices' rates,
// with the slices' spread (half the interquartile range, as ± of the median).
//
// Run: flock /tmp/sluice-bench.lock node bench/seeds.mjs   (after npm run build)
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { parse } from 'yaml';
import { MemoryStore, Sluice } from '../dist/index.js';
// The simulator's seeded generator, so every run sends the same traffic.
import { prng as rng } from '../dist/simulate/generate.js';
import { bareGcra } from './floors/bare-gcra-loop.mjs';

const KEYS = 100_000;
const SLICE = 50_000;
const SLICES = Number(process.env.SEED_SLICES ?? 12);
const TIME_CAP_MS = 60_000;

/** 80% of picks spread over all keys, 20% over 1 in 500 of them (the hot ones, who get refused). */
function picker(random, prefix, n = KEYS) {
  const hot = Math.max(1, Math.floor(n / 500));
  return () => `${prefix}-${random() < 0.2 ? Math.floor(random() * hot) : Math.floor(random() * n)}`;
}

const TRAFFIC = SLICE * 8; // distinct requests per seed; slices walk them round robin

function policyDoc(file) {
  return parse(readFileSync(fileURLToPath(new URL(`../examples/${file}`, import.meta.url)), 'utf8'));
}

/** The account rule of seeds 000 and 001: 60 per rolling minute per account over the listed APIs. */
async function accountSeed(file) {
  const doc = policyDoc(file);
  const rule = doc.rules[0];
  const apis = rule.match.api.group.flatMap((g) => doc.groups[g]);
  // 1,000 accounts with a custom limit: half granted in the file, half at run time by support.
  const custom = new Set();
  doc.overrides = doc.overrides ?? [];
  for (let i = 0; i < 1000; i++) {
    const account = `acct-${i * 97}`;
    custom.add(account);
    if (i % 2 === 0) doc.overrides.push({ rule: rule.name, key: { account }, limit: '300/1m' });
  }
  const store = new MemoryStore({ maxKeys: 1_000_000 });
  let i = 0;
  for (const account of custom) if (i++ % 2 === 1) await store.setOverride({ key: `${rule.name}|${account}`, rule: rule.name, keyValues: { account }, limit: 300, windowMs: 60_000 });
  const sluice = Sluice.openSync({ policy: doc, store });

  const random = rng(1);
  const account = picker(random, 'acct');
  const subjects = Array.from({ length: TRAFFIC }, () => ({ account: account(), api: random() < 0.9 ? apis[Math.floor(random() * apis.length)] : 'Get Webhook Logs' }));

  const listed = new Set(apis);
  const rlf = new RateLimiterMemory({ points: 60, duration: 60, keyPrefix: 'acct' });
  const rlfCustom = new RateLimiterMemory({ points: 300, duration: 60, keyPrefix: 'custom' });
  const rlfDecide = async (s) => {
    if (!listed.has(s.api)) return true;
    try {
      await (custom.has(s.account) ? rlfCustom : rlf).consume(s.account);
      return true;
    } catch {
      return false;
    }
  };
  return {
    subjects,
    sluice: async (s) => (await sluice.check(s)).allowed,
    sluiceSync: (s) => sluice.checkSync(s).allowed,
    rlf: rlfDecide,
  };
}

/** Seed 002, Picky Assist: login lockout, signup per IP, the bot-loop breaker, offline reply, push, device, connector. */
async function pickySeed() {
  const doc = policyDoc('picky-assist.yaml');
  const store = new MemoryStore({ maxKeys: 2_000_000 });
  const custom = new Set();
  for (let i = 0; i < 1000; i++) custom.add(`acct-${i * 97}`);
  for (const account of custom) await store.setOverride({ key: `push-per-minute|${account}`, rule: 'push-per-minute', keyValues: { account }, limit: 300, windowMs: 60_000 });
  const sluice = Sluice.openSync({ policy: doc, store });

  const random = rng(2);
  const user = picker(random, 'user');
  const ip = picker(random, 'ip');
  const contact = picker(random, 'contact');
  const account = picker(random, 'acct');
  const connector = picker(random, 'conn');
  const push = doc.groups.push;
  const device = doc.groups['device-status'];
  const mix = [
    [0.2, () => ({ api: 'Login', user: user(), fails: random() < 0.3 })],
    [0.05, () => ({ api: 'Signup', ip: ip() })],
    [0.2, () => ({ event: 'smart-reply', contact: contact(), question: `q${Math.floor(random() * 5)}` })],
    [0.05, () => ({ event: 'offline-reply', contact: contact() })],
    [0.3, () => ({ api: push[Math.floor(random() * push.length)], account: account() })],
    [0.05, () => ({ api: device[Math.floor(random() * device.length)], account: account() })],
    [0.1, () => ({ event: 'connector-inbound', connector: connector() })],
    [0.05, () => ({ event: 'connector-outbound-http', connector: connector() })],
  ];
  const subjects = Array.from({ length: TRAFFIC }, () => {
    let r = random();
    for (const [w, make] of mix) if ((r -= w) < 0) return make();
    return mix[0][1]();
  });
  const FAILED = { success: false };

  const lim = (points, duration, extra = {}) => new RateLimiterMemory({ points, duration, keyPrefix: `${points}/${duration}/${Math.random()}`, ...extra });
  const rl = {
    login: lim(3, 180, { blockDuration: 900 }),
    signup: lim(2, 8 * 3600),
    reply: lim(5, 60),
    contactBlock: lim(1, 60),
    offline: lim(1, 3600),
    push: lim(90, 60),
    pushCustom: lim(300, 60),
    device: lim(3, 60),
    inbound: lim(10, 60),
    outbound: lim(3, 60),
  };
  const pushSet = new Set(push);
  const deviceSet = new Set(device);
  const consume = async (l, key) => {
    try {
      await l.consume(key);
      return true;
    } catch {
      return false;
    }
  };
  const rlfDecide = async (s) => {
    if (s.api === 'Login') {
      const r = await rl.login.get(s.user);
      if (r !== null && r.consumedPoints > 3) return false; // locked out
      if (s.fails) await consume(rl.login, s.user); // the failure, recorded after the attempt
      return true;
    }
    if (s.api === 'Signup') return consume(rl.signup, s.ip);
    if (s.event === 'smart-reply') {
      const b = await rl.contactBlock.get(s.contact);
      if (b !== null && b.consumedPoints > 1) return false;
      if (await consume(rl.reply, `${s.contact}|${s.question}`)) return true;
      await rl.contactBlock.block(s.contact, 60);
      return false;
    }
    if (s.event === 'offline-reply') return consume(rl.offline, s.contact);
    if (pushSet.has(s.api)) return consume(custom.has(s.account) ? rl.pushCustom : rl.push, s.account);
    if (deviceSet.has(s.api)) return consume(rl.device, s.account);
    if (s.event === 'connector-inbound') return consume(rl.inbound, s.connector);
    if (s.event === 'connector-outbound-http') return consume(rl.outbound, s.connector);
    return true;
  };
  return {
    subjects,
    sluice: async (s) => {
      const d = await sluice.check(s);
      if (s.fails && d.allowed) await sluice.record(s, FAILED);
      return d.allowed;
    },
    rlf: rlfDecide,
  };
}

/** Seed 003, CCaaS recordings: 1 per 3 s per tenant, and a 5-day egress cap scaled by licensed agents (bytes recorded after). */
async function recordingsSeed() {
  const doc = policyDoc('ccaas-recordings.yaml');
  const store = new MemoryStore({ maxKeys: 1_000_000 });
  // 1% of tenants have their licensed agents set by support; a few are tiny (5 MB caps) and run out.
  const agents = new Map();
  for (let i = 0; i < 1000; i++) agents.set(`tenant-${i * 97}`, i % 10 === 0 ? 0.002 : 1 + (i % 50));
  for (const [tenant, n] of agents) await store.setAttributes(`tenant:${tenant}`, { licensed_agents: n });
  const sluice = Sluice.openSync({ policy: doc, store });

  const random = rng(3);
  const tenant = picker(random, 'tenant');
  const subjects = Array.from({ length: TRAFFIC }, () => ({ api: 'Get Recording Audio', tenant: tenant(), bytes: 1e6 + Math.floor(random() * 3e6) }));

  const audio = new RateLimiterMemory({ points: 1, duration: 3, keyPrefix: 'audio' });
  const egress = new RateLimiterMemory({ points: 2.5e9, duration: 5 * 86400, keyPrefix: 'egress' });
  const rlfDecide = async (s) => {
    const used = await egress.get(s.tenant);
    if (used !== null && used.consumedPoints >= egress.points) return false;
    try {
      await audio.consume(s.tenant);
    } catch {
      return false;
    }
    // The limit scales with licensed agents: charge each byte as 1/agents of a point.
    await egress.penalty(s.tenant, s.bytes / (agents.get(s.tenant) ?? 1));
    return true;
  };
  return {
    subjects,
    sluice: async (s) => {
      const d = await sluice.check(s);
      if (d.allowed) await sluice.record(s, { bytes: s.bytes });
      return d.allowed;
    },
    rlf: rlfDecide,
  };
}

/** One rule alone beside the bare loop: the exact sliding log (1000/1m) and GCRA (today's fast path). */
function aloneSeed(algorithm, limit, windowMs) {
  const sluice = Sluice.openSync({ policy: { rules: [{ name: 'r', key: 'account', limit: `${limit}/${windowMs / 1000}s`, algorithm }] } });
  const keys = Array.from({ length: KEYS }, (_, i) => `acct-${i}`);
  const subjects = keys.map((account) => ({ account }));
  const bare = bareGcra(keys, limit, windowMs);
  return { subjects, sluiceSync: (s) => sluice.checkSync(s).allowed, bare: (_s, i) => bare(i) };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Runs the contenders in interleaved slices over the same requests; per contender, each slice's rate. */
async function measure(subjects, contenders) {
  const rates = contenders.map(() => []);
  const allowed = contenders.map(() => 0);
  const start = performance.now();
  // Slice 0 warms up (JIT, first allocation of every key) and is not counted.
  for (let k = 0; k <= SLICES && performance.now() - start < TIME_CAP_MS; k++) {
    const from = (k * SLICE) % subjects.length;
    // Alternate who goes first, so neither always runs on a freshly collected heap.
    const order = contenders.map((_, c) => c);
    if (k % 2) order.reverse();
    for (const c of order) {
      const { fn, isAsync } = contenders[c];
      const t0 = performance.now();
      let ok = 0;
      if (isAsync) for (let i = from; i < from + SLICE; i++) ok += (await fn(subjects[i], i)) ? 1 : 0;
      else for (let i = from; i < from + SLICE; i++) ok += fn(subjects[i], i) ? 1 : 0;
      if (k === 0) continue;
      rates[c].push(SLICE / ((performance.now() - t0) / 1000));
      allowed[c] += ok;
    }
  }
  return contenders.map((c, i) => {
    const sorted = [...rates[i]].sort((a, b) => a - b);
    const m = median(sorted);
    const q = (f) => sorted[Math.min(sorted.length - 1, Math.floor(f * sorted.length))];
    const spread = (q(0.75) - q(0.25)) / 2 / m; // half the interquartile range, of the median
    return { label: c.label, perSec: m, spread, refused: 1 - allowed[i] / (rates[i].length * SLICE) };
  });
}

export async function run() {
  const rows = [];
  const add = (seed, results, peer) => {
    const base = results.find((r) => r.label === peer).perSec;
    for (const r of results) {
      rows.push({ seed, contender: r.label, 'decisions/s': Math.round(r.perSec), spread: `±${Math.round(r.spread * 100)}%`, refused: `${(r.refused * 100).toFixed(1)}%`, ratio: r.label === peer ? '1 (peer)' : `${(r.perSec / base).toFixed(2)}×` });
    }
  };
  const peerSeeds = [
    ['000 smartassist (60/1m log, 1k custom)', () => accountSeed('smartassist.yaml')],
    ['001 contact-center-ai (78 APIs, 1k custom)', () => accountSeed('contact-center-ai.yaml')],
    ['002 picky-assist (8 rules, login record)', pickySeed],
    ['003 ccaas-recordings (gcra + 5d bytes)', recordingsSeed],
  ];
  // `node bench/seeds.mjs 002 alone`: only the seeds whose name starts with one of the arguments.
  const only = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const wanted = (name) => only.length === 0 || only.some((o) => name.startsWith(o));
  for (const [name, make] of peerSeeds) {
    if (!wanted(name)) continue;
    // Each contender keeps its own state: one instance of the seed each (the same traffic, seeded).
    const [s, t] = [await make(), await make()];
    const contenders = [
      { label: 'sluice check', fn: s.sluice, isAsync: true },
      ...(t.sluiceSync ? [{ label: 'sluice checkSync', fn: t.sluiceSync }] : []),
      { label: 'rate-limiter-flexible', fn: s.rlf, isAsync: true },
    ];
    add(name, await measure(s.subjects, contenders), 'rate-limiter-flexible');
  }
  for (const [name, alg, limit, windowMs] of [
    ['exact sliding log alone 1000/1m', 'sliding-log', 1000, 60_000],
    ['one GCRA rule 1000/1m', 'gcra', 1000, 60_000],
  ]) {
    if (!wanted(name)) continue;
    const s = aloneSeed(alg, limit, windowMs);
    add(name, await measure(s.subjects, [{ label: 'sluice checkSync', fn: s.sluiceSync }, { label: 'bare Map GCRA loop', fn: s.bare }]), 'bare Map GCRA loop');
  }
  console.log(`\n## Seed policies, ${KEYS.toLocaleString()}+ keys each: median of ${SLICES} interleaved slices of ${SLICE.toLocaleString()} requests`);
  console.table(rows);
  return { rows };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await run();
export { accountSeed, pickySeed, recordingsSeed, aloneSeed };
