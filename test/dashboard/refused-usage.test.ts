import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN, READ, start, stopAll, TOKENS } from '../server/support.js';
import { accountPolicy, rule } from './policies.js';

/**
 * The dashboard's refused keys show each key's real usage now, as admin inspect does: past the
 * limit when usage went past it. It showed limit − remaining, which stops at the limit, so a key
 * hammered far past a charge_rejected limit (every attempt counts) looked merely full.
 */
afterAll(stopAll);

const POLICY = accountPolicy(rule('name: hammered', 'key: [user]', 'limit: 3/1m', 'charge_rejected: true'));

describe('dashboard refused keys: the real usage', () => {
  it('a key hammered past a charge_rejected limit shows every attempt counted, and over', async () => {
    const s = await start({ policy: POLICY, store: 'memory', ...TOKENS });
    for (let i = 0; i < 40; i++) await s.post('/v1/check', { subject: { user: 'bot' } });
    const top = await s.get('/v1/dashboard/top?n=5', READ);
    expect(top.status).toBe(200);
    const bot = top.body.rules.hammered[0];
    expect(bot).toMatchObject({ key: { user: 'bot' }, count: 37 });
    expect(bot.usage).toMatchObject({ limit: 3, remaining: 0, over: true });
    expect(bot.usage.used).toBe(40);
    // The same number admin inspect reports.
    const inspect = await s.post('/v1/admin/inspect', { subject: { user: 'bot' } }, ADMIN);
    expect(inspect.body.rules.find((r: { rule: string }) => r.rule === 'hammered')).toMatchObject({ used: 40 });
  });

  it('a key refused at its limit (rejections not charged) is full, not over', async () => {
    const s = await start({ policy: POLICY, store: 'memory', ...TOKENS });
    for (let i = 0; i < 10; i++) await s.post('/v1/check', { subject: { account: 'acme' } });
    const acme = (await s.get('/v1/dashboard/top?n=5', READ)).body.rules['per-account'][0];
    expect(acme).toMatchObject({ count: 7, usage: { used: 3, limit: 3, remaining: 0, over: false } });
  });
});
