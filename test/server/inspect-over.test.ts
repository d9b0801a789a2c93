import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Sluice } from '../../src/engine/sluice.js';
import { inspect } from '../../src/server/inspect.js';
import { SqliteStore } from '../../src/stores/sqlite.js';

/** Seed 003: support sees a tenant that went over its egress cap ("contact support to review usage"). */

const POLICY = { rules: [{ name: 'egress', match: { api: 'Get Recording Audio' }, key: ['tenant'], limit: '10000B/5d' }] };
const dir = mkdtempSync(join(tmpdir(), 'sluice-inspect-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('inspect says when a byte quota went over its cap', () => {
  for (const store of ['memory', 'sqlite'] as const) {
    it(`${store}: over is false up to the cap and true past it`, async () => {
      const now = Date.UTC(2026, 0, 5);
      const sluice = await Sluice.open({ policy: POLICY, clock: () => now, store: store === 'memory' ? 'memory' : new SqliteStore(join(dir, 'inspect.db')) });
      const atCap = { tenant: 'exact', api: 'Get Recording Audio' };
      const past = { tenant: 'heavy', api: 'Get Recording Audio' };
      await sluice.record(atCap, { bytes: 10_000 });
      await sluice.record(past, { bytes: 9_000 });
      await sluice.record(past, { bytes: 3_000 }); // the download that crossed the cap finished: 2,000 bytes over
      const [exact] = await inspect(sluice, atCap);
      const [heavy] = await inspect(sluice, past);
      expect(exact).toMatchObject({ rule: 'egress', used: 10_000, remaining: 0, over: false });
      expect(heavy).toMatchObject({ rule: 'egress', used: 10_000, remaining: 0, over: true });
      // inspecting charged nothing
      expect((await inspect(sluice, past))[0]).toMatchObject({ over: true });
      expect((await inspect(sluice, { tenant: 'new', api: 'Get Recording Audio' }))[0]).toMatchObject({ used: 0, over: false });
      await sluice.close();
    });
  }
});
