import { describe, expect, it } from 'vitest';
import { loadWithRoutes } from '../../src/simulate/routes-overlay.js';
import { simulate } from '../../src/simulate/simulate.js';
import type { SimulationResult } from '../../src/simulate/result.js';
import { calls, combined, example, logFile, ROUTES, T0, type Req } from './support/lines.js';

/** Replays a log and returns, per line, which rule refused it (for answers known line by line). */
async function run(policy: string, reqs: Req[], name: string): Promise<SimulationResult> {
  return simulate({ policy: loadWithRoutes(example(policy), ROUTES), log: logFile(name, reqs, combined) });
}

const rule = (r: SimulationResult, name: string) => r.rules.find((x) => x.rule === name)!;

describe('answers known line by line', () => {
  for (const policy of ['contact-center-ai.yaml', 'smartassist.yaml']) {
    it(`${policy}: one account making 61 calls in a minute: exactly line 61 is refused`, async () => {
      const r = await run(policy, calls(61, 'acct-7', 900), `61-${policy}.log`);
      const a = rule(r, 'account-per-minute');
      expect(r.lines).toBe(61);
      expect(a).toMatchObject({ matched: 61, admitted: 60, refused: 1, dropped: 0 });
      expect(a.firstRefusal).toMatchObject({ line: 61, key: { account: 'acct-7' } });
      expect(a.topKeys).toEqual([{ key: { account: 'acct-7' }, refused: 1 }]);
      expect(a.peak).toMatchObject({ used: 60, limit: 60, key: { account: 'acct-7' } });
    });
  }

  it('the rolling minute: call 61 one minute after the first is admitted again', async () => {
    // 60 calls in the first 59 s, then one exactly 60 s after the first: the first has left the window.
    const reqs = [...calls(60, 'acct-7', 1000), { atMs: T0 + 60_000, path: '/v1/accounts/acct-7/conversations' }];
    const a = rule(await run('contact-center-ai.yaml', reqs, 'rolling.log'), 'account-per-minute');
    expect(a.refused).toBe(0);
  });

  it('an override from the policy file: acme-enterprise is allowed 300 a minute', async () => {
    const a = rule(await run('contact-center-ai.yaml', calls(301, 'acme-enterprise', 150), 'acme.log'), 'account-per-minute');
    expect(a).toMatchObject({ admitted: 300, refused: 1 });
    expect(a.firstRefusal?.line).toBe(301);
  });

  it('login lockout from 401 lines: the 4th failure within 3 minutes locks the user out for 15 minutes', async () => {
    const login = (atMs: number, status: number, user = 'bob'): Req => ({ atMs, method: 'POST', path: `/v1/users/${user}/login`, status });
    const reqs = [
      login(T0, 401), // 1
      login(T0 + 20_000, 401), // 2
      login(T0 + 40_000, 401), // 3
      login(T0 + 60_000, 401), // 4: the 4th failure trips the block
      login(T0 + 61_000, 200), // 5: refused even with the right password
      login(T0 + 62_000, 200, 'carol'), // 6: another user is not affected
      login(T0 + 60_000 + 14 * 60_000, 200), // 7: still inside the 15 minutes
      login(T0 + 60_000 + 15 * 60_000 + 1000, 200), // 8: the block is over
    ];
    const r = await run('picky-assist.yaml', reqs, 'login.log');
    const l = rule(r, 'login-lockout');
    expect(l).toMatchObject({ matched: 8, refused: 2, admitted: 6 });
    expect(l.firstRefusal).toMatchObject({ line: 5, key: { user: 'bob' } });
    expect(l.topKeys).toEqual([{ key: { user: 'bob' }, refused: 2 }]);
  });

  it('three failures are not a lockout', async () => {
    const reqs: Req[] = [0, 1, 2, 3].map((i) => ({ atMs: T0 + i * 10_000, method: 'POST', path: '/v1/users/bob/login', status: i < 3 ? 401 : 200 }));
    expect(rule(await run('picky-assist.yaml', reqs, 'login3.log'), 'login-lockout').refused).toBe(0);
  });

  it('an egress cap from byte counts: smallco (2 agents, 5 GB / 5 days) gets its 6th 1-GB download refused with the 509 rule', async () => {
    const dl = (i: number, tenant: string): Req => ({ atMs: T0 + i * 4000, path: `/v1/tenants/${tenant}/recordings/r-${i}/audio`, bytes: 1e9 });
    const reqs = [...[0, 1, 2, 3, 4, 5, 6].map((i) => dl(i, 'smallco')), dl(7, 'acme')];
    const r = await run('ccaas-recordings.yaml', reqs, 'egress.log');
    const cap = rule(r, 'recording-egress-5d');
    expect(cap).toMatchObject({ refused: 2, firstRefusal: { line: 6, key: { tenant: 'smallco' } } });
    expect(cap.peak).toMatchObject({ key: { tenant: 'smallco' }, limit: 5e9 });
    expect(rule(r, 'recording-audio-per-tenant').refused).toBe(0);
    // acme (40 agents: 100 GB) is not affected
    expect(cap.topKeys).toEqual([{ key: { tenant: 'smallco' }, refused: 2 }]);
  });

  it('recording audio: one request per 3 seconds per tenant', async () => {
    const reqs: Req[] = [0, 1000, 3000, 3500, 6000].map((d) => ({ atMs: T0 + d, path: '/v1/tenants/acme/recordings/r/audio', bytes: 10 }));
    const r = rule(await run('ccaas-recordings.yaml', reqs, 'gcra.log'), 'recording-audio-per-tenant');
    expect(r).toMatchObject({ admitted: 3, refused: 2, firstRefusal: { line: 2 } });
  });

  it('a bot loop: the 6th reply to one question within a minute is dropped, and the contact is silenced for a minute', async () => {
    const reply = (atMs: number, question: string, contact = '919800000001'): Req => ({ atMs, method: 'POST', path: `/v1/contacts/${contact}/smart-replies/${question}` });
    const reqs = [
      ...[0, 1, 2, 3, 4].map((i) => reply(T0 + i * 5000, 'q-hello')), // 1-5 admitted
      reply(T0 + 25_000, 'q-hello'), // 6: dropped, trips the 1-minute block on the contact
      reply(T0 + 30_000, 'q-other'), // 7: another question, same contact: dropped (the block is per contact)
      reply(T0 + 31_000, 'q-hello', '919800000002'), // 8: another contact: admitted
      reply(T0 + 25_000 + 61_000, 'q-other'), // 9: after the block: admitted
    ];
    const b = rule(await run('picky-assist.yaml', reqs, 'loop.log'), 'smart-reply-loop-breaker');
    expect(b).toMatchObject({ matched: 9, admitted: 7, refused: 0, dropped: 2, firstRefusal: { line: 6 } });
  });

  it('lines no rule matches are counted, not refused', async () => {
    const r = await run('contact-center-ai.yaml', [{ atMs: T0, path: '/healthz' }, ...calls(2, 'a', 10)], 'unmatched.log');
    expect(r.unmatched).toBe(1);
    expect(r.decided).toBe(3);
  });
});
