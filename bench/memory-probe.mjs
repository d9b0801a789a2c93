// Tracks 1M keys with one contender and prints its heap cost per key as JSON.
// Measured as the heap growth while building the store, after full GCs; the key strings
// and subjects exist beforehand and are pinned on globalThis so they count on both sides.
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { Sluice } from '../dist/index.js';

const N = 1_000_000;
const contender = process.argv[2];
const LOG_KEYS = 10_000;
const ENTRIES = 100;
const accounts = Array.from({ length: N }, (_, i) => `acct-${i}`);
const subjects = accounts.map((account) => ({ account }));
globalThis.pinned = { accounts, subjects };

function usage() {
  for (let i = 0; i < 4; i++) globalThis.gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

async function build() {
  if (contender === 'hand-gcra') {
    const m = new Map();
    const now = Date.now();
    for (const k of accounts) m.set(`r|${k}`, now + 60_000);
    return m;
  }
  if (contender === 'sluice-log-entries') {
    // 10,000 keys holding 100 entries each (one check per ms, so no two merge): bytes per held entry.
    let now = Date.now();
    const sluice = Sluice.openSync({ policy: { rules: [{ name: 'r', key: 'account', limit: '1000/1h', algorithm: 'sliding-log' }] }, clock: () => now });
    for (let e = 0; e < ENTRIES; e++) {
      for (let i = 0; i < LOG_KEYS; i++) sluice.checkSync(subjects[i]);
      now++;
    }
    return sluice;
  }
  if (contender.startsWith('sluice-')) {
    const algorithm = contender.slice('sluice-'.length);
    const sluice = Sluice.openSync({ policy: { rules: [{ name: 'r', key: 'account', limit: '100/1h', algorithm }] }, maxKeys: N });
    for (const s of subjects) sluice.checkSync(s);
    return sluice;
  }
  const rlf = new RateLimiterMemory({ points: 100, duration: 3600 });
  for (let i = 0; i < N; i += 10_000) await Promise.all(accounts.slice(i, i + 10_000).map((k) => rlf.consume(k)));
  return rlf;
}

const before = usage();
globalThis.pinned.store = await build();
const after = usage();
if (contender === 'sluice-log-entries') console.log(JSON.stringify({ contender, bytesPerEntry: (after - before) / (LOG_KEYS * ENTRIES), bytesPerKey: (after - before) / LOG_KEYS }));
else console.log(JSON.stringify({ contender, bytesPerKey: (after - before) / N }));
