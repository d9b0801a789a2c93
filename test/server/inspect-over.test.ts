import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Sluice, type Clock } from '../../src/engine/sluice.js';
import { inspect } from '../../src/server/inspect.js';
import { openStore } from '../../src/stores/open.js';
import { RedisServer, warnIfNoRedis } from '../helpers/redis-server.js';

/**
 * Seed 003: support sees a tenant that went over its egress cap ("contact support to review
 * usage"): inspect reports the real usage (the state read and counted by the algorithm's
 * usage()), not limit − remaining, which stops at the cap. On every store; Redis both on the
 * injected clock and on its own server clock (the state read at the server's TIME).
 */

const POLICY = {
  rules: [
    { name: 'egress', match: { api: 'Get Recording Audio' }, key: ['tenant'], limit: '10000B/5d' },
    { name: 'audio-rate', match: { api: 'Get Recording Audio' }, key: ['tenant'], limit: '1/3s' },
  ],
};
const dir = mkdtempSync(join(tmpdir(), 'sluice-inspect-'));
const hasRedis = warnIfNoRedis('inspect-over on the redis store');
let redis: RedisServer | undefined;
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await redis?.destroy();
});

let n = 0;
const cases: { name: string; spec: () => Promise<string>; clock?: Clock }[] = [
  { name: 'memory', spec: async () => 'memory' },
  { name: 'sqlite', spec: async () => `sqlite:${join(dir, `inspect-${++n}.db`)}` },
];
const injected = (): Clock => {
  const at = Date.now();
  return () => at;
};
if (hasRedis) {
  const url = async () => (redis ??= await RedisServer.start()).url;
  cases.push({ name: 'redis (injected clock)', spec: async () => `${await url()}?clock=client&prefix=io${++n}:` });
  cases.push({ name: 'redis (server clock)', spec: async () => `${await url()}?prefix=io${++n}:`, clock: Date.now });
}

describe('inspect reports the real usage of a byte quota, past its cap', () => {
  for (const c of cases) {
    it(`${c.name}: used is the bytes counted (over the cap when crossed), over says so`, { timeout: 20_000 }, async () => {
      const sluice = await Sluice.open({ policy: POLICY, clock: c.clock ?? injected(), store: await openStore(await c.spec()) });
      try {
        const atCap = { tenant: 'exact', api: 'Get Recording Audio' };
        const past = { tenant: 'heavy', api: 'Get Recording Audio' };
        await sluice.check(atCap);
        await sluice.record(atCap, { bytes: 10_000 });
        await sluice.check(past);
        await sluice.record(past, { bytes: 9_000 });
        await sluice.record(past, { bytes: 3_000 }); // the download that crossed the cap finished: 2,000 bytes over
        const exact = await inspect(sluice, atCap);
        const heavy = await inspect(sluice, past);
        expect(exact.find((r) => r.rule === 'egress')).toMatchObject({ used: 10_000, limit: 10_000, remaining: 0, over: false });
        expect(heavy.find((r) => r.rule === 'egress')).toMatchObject({ used: 12_000, limit: 10_000, remaining: 0, over: true });
        // A request rule next to it: used is the requests counted, at most the limit.
        expect(heavy.find((r) => r.rule === 'audio-rate')).toMatchObject({ used: 1, limit: 1, remaining: 0, over: false });
        // Inspecting charged nothing.
        expect((await inspect(sluice, past)).find((r) => r.rule === 'egress')).toMatchObject({ used: 12_000, over: true });
        expect((await inspect(sluice, { tenant: 'new', api: 'Get Recording Audio' })).find((r) => r.rule === 'egress')).toMatchObject({ used: 0, over: false });
      } finally {
        await sluice.close();
      }
    });
  }
});
