/**
 * Admin inspect's and the dashboard's `used` (src/engine/usage-now.ts) read a GCRA key's state
 * with the parameters the store decides it with. They kept the rule's `burst` under a key's
 * override (the store drops it: the override's limit is the burst) and under a scale (the store
 * scales it by the factor): on a 10/1m rule with burst 30, a tenant scaled ×2 (limit 20, burst
 * 60) that had used its 60 showed 30 used. Under an override the wrong burst did not show (the
 * peek clamps the state to the store's bound before it is read); that case is checked end to end
 * here too. Through the service's admin API and dashboard, with a fixed clock.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN, fakeClock, READ, start, stopAll, TOKENS } from '../server/support.js';

afterAll(stopAll);

const POLICY = `
version: 1
rules:
  - name: bursty
    key: [account]
    algorithm: gcra
    limit: 10/1m
    burst: 30
    scale: { attribute: agents, of: account, default: 1 }
`;

async function drain(s: Awaited<ReturnType<typeof start>>, account: string, n: number): Promise<number> {
  let admitted = 0;
  for (let i = 0; i < n; i++) if ((await s.post('/v1/check', { subject: { account } })).body.allowed) admitted++;
  return admitted;
}

async function inspected(s: Awaited<ReturnType<typeof start>>, account: string) {
  const r = await s.post('/v1/admin/inspect', { subject: { account } }, ADMIN);
  expect(r.status).toBe(200);
  return r.body.rules.find((x: { rule: string }) => x.rule === 'bursty');
}

describe('GCRA usage under a key\'s own limit', () => {
  it('an override of 20/1m: the burst is the override\'s limit, so the key shows 20 used of 20', async () => {
    const clock = fakeClock();
    const s = await start({ policy: POLICY, store: 'memory', clock: clock.fn, ...TOKENS });
    expect(await drain(s, 'acme', 40)).toBe(30); // the rule's burst, used up
    const put = await s.call('PUT', '/v1/admin/overrides', { rule: 'bursty', key: { account: 'acme' }, limit: '20/1m' }, ADMIN);
    expect(put.status).toBeLessThan(300);
    expect(await inspected(s, 'acme')).toMatchObject({ limit: 20, remaining: 0, used: 20, over: false, override: 'store' });
    // the dashboard's refused keys say the same
    const top = await s.get('/v1/dashboard/top?n=5', READ);
    expect(top.body.rules.bursty[0].usage).toMatchObject({ limit: 20, used: 20, over: false });
  });

  it('a tenant scaled ×2 (limit 20, burst 60) that used its burst shows 60 used', async () => {
    const clock = fakeClock();
    const s = await start({ policy: POLICY, store: 'memory', clock: clock.fn, ...TOKENS });
    expect((await s.call('PUT', '/v1/admin/attributes/account/globex', { agents: 2 }, ADMIN)).status).toBeLessThan(300);
    expect(await drain(s, 'globex', 70)).toBe(60);
    expect(await inspected(s, 'globex')).toMatchObject({ limit: 20, remaining: 0, used: 60 });
  });
});
