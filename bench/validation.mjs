// The decision API's body validation, in process: today's validator (the zod schemas of
// src/server/schemas.ts compiled by ajv, dist/server/validate.js) against zod's own safeParse
// of the same schema, on the /v1/check body bench/service.mjs sends. Blocks alternate; each
// figure is the median ns per body over the blocks, with the spread (min–max).
//
//   npm run build && flock /tmp/sluice-bench.lock node bench/validation.mjs
import { checkSchema } from '../dist/server/schemas.js';
import { readCheck } from '../dist/server/validate.js';

const BODIES = [
  { subject: { account: 'acme', api: 'List of Conversations' }, cost: 1 },
  { subject: { account: 'acme', user: 'u1', api: 'Queue Size' } },
];
const N = 200_000;
const BLOCKS = Number(process.env.BENCH_BLOCKS ?? 15);
const contenders = {
  'ajv (served)': (b) => readCheck(b),
  'zod safeParse': (b) => {
    const r = checkSchema.safeParse(b);
    if (!r.success) throw new Error('invalid');
    return r.data;
  },
};
const samples = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]));
let sink = 0;
for (let block = 0; block < BLOCKS; block++) {
  for (const [name, f] of Object.entries(contenders)) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) sink += f(BODIES[i & 1]).subject ? 1 : 0;
    samples[name].push(Number(process.hrtime.bigint() - t0) / N);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [name, xs] of Object.entries(samples)) {
  console.log(`${name.padEnd(16)} ${median(xs).toFixed(0).padStart(5)} ns/body  (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}, ${BLOCKS} blocks)`);
}
if (sink === 0) console.log('');
