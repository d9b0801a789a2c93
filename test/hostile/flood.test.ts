/**
 * A key flood through the service (issue 17): 50 × maxKeys distinct keys sent through
 * /v1/check/batch against a memory store bounded to maxKeys. A victim at its limit and a
 * login locked by its block are never admitted during or after the flood; legitimate keys
 * below their limit are admitted; the store never holds more than maxKeys. (Before: the
 * least recently used key was dropped, so the flood reset the victim.) Full scale, 10^6
 * keys through the service: bench/eviction-flood.mjs.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/stores/memory.js';
import { fakeClock, start, stopAll } from '../server/support.js';

afterEach(stopAll);

const MAX_KEYS = 500;
const policy = {
  rules: [
    { name: 'api', match: { api: 'x' }, key: 'account', limit: '20/1m' },
    { name: 'login', match: { api: 'Login' }, key: 'user', limit: '3/3m', count: 'failure', block: '15m' },
  ],
};

describe('a key flood through /v1/check/batch', () => {
  it('0 extra admissions for a victim at its limit or blocked; legit keys admitted; memory bounded', async () => {
    const clock = fakeClock();
    const store = new MemoryStore({ maxKeys: MAX_KEYS });
    const s = await start({ policy, store, clock: clock.fn });
    const check = async (subject: Record<string, string>) => (await s.post('/v1/check', { subject })).status === 200;
    for (let i = 0; i < 20; i++) expect(await check({ api: 'x', account: 'victim' })).toBe(true);
    expect(await check({ api: 'x', account: 'victim' })).toBe(false);
    for (let i = 0; i < 4; i++) expect((await s.post('/v1/record', { subject: { api: 'Login', user: 'bob' }, outcome: { status: 401 } })).status).toBe(200);
    expect(await check({ api: 'Login', user: 'bob' })).toBe(false);

    let victimAdmitted = 0;
    let legitChecks = 0;
    let legitRefused = 0;
    const legitUsed = new Map<string, number>();
    for (let b = 0; b < 50; b++) {
      clock.advance(100);
      const checks = Array.from({ length: MAX_KEYS }, (_, i) => ({ subject: i % 2 ? { api: 'x', account: `flood-${b}-${i}` } : { api: 'Login', user: `flood-${b}-${i}` } }));
      const r = await s.post('/v1/check/batch', { checks });
      expect(r.status).toBe(200);
      if (await check({ api: 'x', account: 'victim' })) victimAdmitted++;
      if (await check({ api: 'Login', user: 'bob' })) victimAdmitted++;
      for (let l = 0; l < 4; l++) {
        const account = `legit-${(b * 4 + l) % 20}`;
        const used = legitUsed.get(account) ?? 0;
        if (used >= 15) continue;
        legitChecks++;
        if (await check({ api: 'x', account })) legitUsed.set(account, used + 1);
        else legitRefused++;
      }
      expect(store.keyCount).toBeLessThanOrEqual(MAX_KEYS);
    }
    expect(victimAdmitted).toBe(0);
    expect(legitChecks).toBeGreaterThan(150);
    expect(legitRefused / legitChecks).toBeLessThan(0.01);
    expect(store.traceBytes).toBeLessThanOrEqual(3 * 4 * 1024 * 12);
  }, 60_000);
});
