// Core benchmark: decisions/s for one rule over 100k keys (0% and 50% refused), and heap
// bytes per tracked key at 1M keys, for Sluice's memory store, rate-limiter-flexible's
// RateLimiterMemory and a minimal hand-written Map-based GCRA loop (the floor), measured
// in the same run. Each memory figure comes from a fresh child process.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { Sluice } from '../dist/index.js';

const KEYS = 100_000;
const OPS = 2_000_000; // 20 calls per key
const TIME_CAP_MS = 15_000;

const keys = Array.from({ length: KEYS }, (_, i) => `acct-${i}`);
const subjects = keys.map((account) => ({ account }));

// limit per hour: 0% refused → 1000 (never reached); 50% refused → 10 of the 20 calls per key.
const scenarios = [
  { name: '0% refused', perHour: 1000 },
  { name: '50% refused', perHour: 10 },
];

function handGcra(perHour) {
  const interval = 3_600_000 / perHour;
  const tolerance = perHour * interval;
  const m = new Map();
  return (key, now) => {
    const tat = Math.max(m.get(key) ?? now, now);
    const next = tat + interval;
    if (next - now > tolerance) return false;
    m.set(key, next);
    return true;
  };
}

const SLICE = 250_000;

/**
 * Runs the contenders in alternating slices of SLICE calls until each has made OPS calls
 * (or the time cap passes), so a change in the machine's speed during the run (a shared
 * VM drifts) hits them all alike; each one's rate is its calls over its own time.
 */
async function measureAll(contenders) {
  const stats = contenders.map(() => ({ ms: 0, n: 0, allowed: 0 }));
  const start = performance.now();
  for (let done = 0; done < OPS && performance.now() - start < TIME_CAP_MS * contenders.length; done += SLICE) {
    for (let c = 0; c < contenders.length; c++) {
      const { fn, isAsync } = contenders[c];
      const st = stats[c];
      const t0 = performance.now();
      let allowed = 0;
      for (let i = done; i < done + SLICE; i++) {
        const ok = isAsync ? await fn(i) : fn(i);
        if (ok) allowed++;
      }
      st.ms += performance.now() - t0;
      st.n += SLICE;
      st.allowed += allowed;
    }
  }
  return contenders.map((c, i) => ({ label: c.label, perSec: stats[i].n / (stats[i].ms / 1000), refused: 1 - stats[i].allowed / stats[i].n }));
}

export async function run() {
  const rows = [];
  for (const s of scenarios) {
    const policy = { rules: [{ name: 'per-account', key: 'account', limit: `${s.perHour}/1h`, algorithm: 'gcra' }] };
    const hand = handGcra(s.perHour);
    const sync = Sluice.openSync({ policy });
    const asyncSluice = await Sluice.open({ policy });
    const rlf = new RateLimiterMemory({ points: s.perHour, duration: 3600 });
    const results = await measureAll([
      // The floor reads the clock per decision, as every real limiter must.
      { label: 'hand-written Map GCRA loop', fn: (i) => hand(subjects[i % KEYS].account, Date.now()) },
      { label: 'sluice checkSync (memory)', fn: (i) => sync.checkSync(subjects[i % KEYS]).allowed },
      { label: 'sluice check (memory, async)', fn: async (i) => (await asyncSluice.check(subjects[i % KEYS])).allowed, isAsync: true },
      {
        label: 'rate-limiter-flexible RateLimiterMemory',
        isAsync: true,
        fn: async (i) => {
          try {
            await rlf.consume(keys[i % KEYS]);
            return true;
          } catch {
            return false;
          }
        },
      },
    ]);
    const rlfRate = results[3].perSec;
    const handRate = results[0].perSec;
    for (const r of results) rows.push({ scenario: s.name, contender: r.label, 'decisions/s': Math.round(r.perSec), refused: `${Math.round(r.refused * 100)}%`, 'vs RLF': (r.perSec / rlfRate).toFixed(2) + '×', 'vs hand loop': (r.perSec / handRate).toFixed(2) + '×' });
  }
  console.log('\n## Decisions per second, one rule, 100k keys (GCRA; RLF: its fixed window)');
  console.table(rows);

  if (process.argv.includes('--no-memory')) return { rows };
  console.log('\n## Heap per tracked key at 1M keys (heapUsed + arrayBuffers, fresh process each)');
  const probe = fileURLToPath(new URL('./memory-probe.mjs', import.meta.url));
  const mem = [];
  for (const contender of ['hand-gcra', 'sluice-gcra', 'sluice-fixed-window', 'sluice-sliding-window', 'sluice-sliding-log', 'rlf-memory']) {
    const out = execFileSync(process.execPath, ['--expose-gc', '--max-old-space-size=8192', probe, contender], { encoding: 'utf8', timeout: 180_000 });
    mem.push(JSON.parse(out.trim().split('\n').pop()));
  }
  const rlfBytes = mem.find((m) => m.contender === 'rlf-memory').bytesPerKey;
  console.table(mem.map((m) => ({ contender: m.contender, 'bytes/key': Math.round(m.bytesPerKey), 'vs RLF': (m.bytesPerKey / rlfBytes).toFixed(2) + '×' })));
  // The exact sliding log's state grows with what it holds: its figure is per held entry.
  const entries = JSON.parse(execFileSync(process.execPath, ['--expose-gc', probe, 'sluice-log-entries'], { encoding: 'utf8', timeout: 180_000 }).trim().split('\n').pop());
  console.log(`sliding log, 10k keys x 100 held entries: ${entries.bytesPerEntry.toFixed(1)} B per held entry (${Math.round(entries.bytesPerKey)} B per key)`);
  mem.push(entries);
  return { rows, mem };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await run();
