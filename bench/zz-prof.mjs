import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { MemoryStore, Sluice } from '/work/wt/engine-speed/dist/index.js';
const doc = parse(readFileSync('/work/wt/engine-speed/examples/smartassist.yaml', 'utf8'));
const apis = doc.rules[0].match.api.group.flatMap((g) => doc.groups[g]);
const mode = process.argv[2] ?? 'full';
if (mode !== 'nooverride') for (let i = 0; i < 500; i++) doc.overrides.push({ rule: doc.rules[0].name, key: { account: `acct-${i * 97}` }, limit: '300/1m' });
const store = new MemoryStore({ maxKeys: 1_000_000 });
if (mode !== 'nooverride') for (let i = 0; i < 500; i++) await store.setOverride({ key: `account-per-minute|acct-${i*97+1}`, rule: 'account-per-minute', keyValues: {}, limit: 300, windowMs: 60000 });
const s = Sluice.openSync({ policy: doc, store });
let x = 1;
const rnd = () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648);
const subjects = Array.from({ length: 400000 }, () => ({ account: `acct-${rnd() < 0.2 ? Math.floor(rnd() * 200) : Math.floor(rnd() * 100000)}`, api: rnd() < 0.9 ? apis[Math.floor(rnd() * apis.length)] : 'Get Webhook Logs' }));
for (let r = 0; r < 8; r++) {
  const t0 = performance.now();
  let ok = 0;
  for (let i = 0; i < subjects.length; i++) ok += s.checkSync(subjects[i]).allowed ? 1 : 0;
  console.log(mode, r, Math.round(subjects.length / ((performance.now() - t0) / 1000)), ok);
}
