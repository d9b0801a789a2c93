import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { storeCases } from './stores.js';
import { EXAMPLES, fakeClock, start, stopAll } from './support.js';

/**
 * The seeds' scenarios through the service's decision API, over real sockets, on every
 * store. Time is the injected clock: windows pass without sleeping.
 */
const cases = storeCases('decision API seed scenarios');
afterEach(stopAll);

const SMARTASSIST_MESSAGE = 'You’ve exceeded the per-minute rate limit. Please wait for sometime before retrying.';
const CCAI_MESSAGE = "You've exceeded the per-minute rate limit. Please wait for sometime before retrying.";

describe.each(cases)('on the $name store', (store) => {
  afterAll(() => store.teardown());

  it('SmartAssist: 60 requests per rolling minute per account, then 429 with the exact message', async () => {
    const clock = fakeClock();
    const s = await start({ config: EXAMPLES + 'smartassist.yaml', store: await store.spec(), clock: clock.fn });
    const subject = { account: 'acct-1', api: 'Queue Size' };

    const batch = await s.post('/v1/check/batch', { checks: Array.from({ length: 60 }, () => ({ subject })) });
    expect(batch.status).toBe(200);
    expect(batch.body.allowed).toBe(true);
    expect(batch.body.results.map((r: { remaining: number }) => r.remaining)).toEqual(Array.from({ length: 60 }, (_, i) => 59 - i));

    clock.advance(30_000);
    const denied = await s.post('/v1/check', { subject, cost: 1 });
    expect(denied.status).toBe(429);
    expect(denied.body).toEqual({ error: { code: 'rate_limit_exceeded', message: SMARTASSIST_MESSAGE, rule: 'account-per-minute', retryAfterMs: 30_000 } });
    expect(denied.headers.get('retry-after')).toBe('30');
    expect(denied.headers.get('ratelimit-policy')).toBe('"account-per-minute";q=60;w=60');
    expect(denied.headers.get('ratelimit')).toBe('"account-per-minute";r=0;t=30');
    expect(denied.headers.get('content-type')).toMatch(/^application\/json/);

    // Other accounts are independent; APIs outside the listed families are not limited.
    expect((await s.post('/v1/check', { subject: { account: 'acct-2', api: 'Queue Size' } })).status).toBe(200);
    const unlisted = await s.post('/v1/check', { subject: { account: 'acct-1', api: 'Something Else' } });
    expect(unlisted.status).toBe(200);
    expect(unlisted.body).toMatchObject({ allowed: true, action: 'allow', limit: null, rules: [] });
    expect(unlisted.headers.get('ratelimit')).toBeNull();

    // A rolling window: the first requests leave it 60 s after they were made.
    clock.advance(30_000);
    const again = await s.post('/v1/check', { subject });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ allowed: true, action: 'allow', rule: 'account-per-minute', limit: 60 });
    expect(again.headers.get('ratelimit')).toMatch(/^"account-per-minute";r=\d+;t=\d+$/);
  });

  it('Contact Center AI: the same limit and message; a custom limit from the policy file for one account', async () => {
    const clock = fakeClock();
    const s = await start({ config: EXAMPLES + 'contact-center-ai.yaml', store: await store.spec(), clock: clock.fn });
    const over = await s.post('/v1/check/batch', { checks: Array.from({ length: 61 }, () => ({ subject: { account: 'small', api: 'Get Campaign Status' } })) });
    expect(over.body.allowed).toBe(false);
    expect(over.body.results[60]).toMatchObject({ allowed: false, status: 429, error: { code: 'rate_limit_exceeded', message: CCAI_MESSAGE, rule: 'account-per-minute' } });
    const big = await s.post('/v1/check/batch', { checks: Array.from({ length: 61 }, () => ({ subject: { account: 'acme-enterprise', api: 'Get Campaign Status' } })) });
    expect(big.body.allowed).toBe(true);
    expect(big.body.results[60]).toMatchObject({ limit: 300, remaining: 239 });
  });

  it('CCaaS: one recording audio request per 3 s per tenant; tenants are independent', async () => {
    const clock = fakeClock();
    const s = await start({ config: EXAMPLES + 'ccaas-recordings.yaml', store: await store.spec(), clock: clock.fn });
    const audio = (tenant: string) => ({ subject: { tenant, api: 'Get Recording Audio' } });
    expect((await s.post('/v1/check', audio('acme'))).status).toBe(200);
    const second = await s.post('/v1/check', audio('acme'));
    expect(second.status).toBe(429);
    expect(second.body.error).toMatchObject({
      code: 'too_many_requests',
      message: 'Too Many Requests: recording audio requests must not exceed one request per 3 seconds per tenant.',
      rule: 'recording-audio-per-tenant',
    });
    expect(second.body.error.retryAfterMs).toBeGreaterThan(0);
    expect(second.body.error.retryAfterMs).toBeLessThanOrEqual(3000);
    expect(second.headers.get('retry-after')).toBe('3');
    expect((await s.post('/v1/check', audio('globex'))).status).toBe(200);
    clock.advance(3000);
    expect((await s.post('/v1/check', audio('acme'))).status).toBe(200);
  });

  it('CCaaS: recorded bytes fill the 5-day egress cap, sized by licensed agents, then 509', async () => {
    const clock = fakeClock();
    const s = await start({ config: EXAMPLES + 'ccaas-recordings.yaml', store: await store.spec(), clock: clock.fn });
    const subject = { tenant: 'smallco', api: 'Get Recording Audio' }; // 2 licensed agents: 5 GB
    expect((await s.post('/v1/check', { subject })).status).toBe(200);
    const rec = await s.post('/v1/record', { subject, outcome: { status: 200, bytes: 4.5e9 } });
    expect(rec.status).toBe(200);
    expect(rec.body).toMatchObject({ allowed: true, rule: 'recording-egress-5d', limit: 5e9, remaining: 5e8 });
    expect(rec.headers.get('ratelimit-policy')).toBe('"recording-egress-5d";q=5000000000;w=432000;qu="content-bytes"');
    clock.advance(3000);
    expect((await s.post('/v1/check', { subject })).status).toBe(200);
    await s.post('/v1/record', { subject, outcome: { status: 200, bytes: 6e8 } });
    clock.advance(3000);
    const capped = await s.post('/v1/check', { subject });
    expect(capped.status).toBe(509);
    expect(capped.body.error).toMatchObject({ code: 'bandwidth_limit_exceeded', rule: 'recording-egress-5d' });
    expect(capped.body.error.message).toContain('Contact Xima Support');
    expect(Number(capped.headers.get('retry-after'))).toBeGreaterThan(0);
    // acme (40 agents, 100 GB) is nowhere near its cap.
    expect((await s.post('/v1/check', { subject: { tenant: 'acme', api: 'Get Recording Audio' } })).status).toBe(200);
  });

  it('Picky Assist: more than 3 failed logins in 3 minutes disable login for 15 minutes', async () => {
    const clock = fakeClock();
    const s = await start({ config: EXAMPLES + 'picky-assist.yaml', store: await store.spec(), clock: clock.fn });
    const subject = { user: 'bob@example.com', api: 'Login' };
    for (let i = 0; i < 3; i++) {
      expect((await s.post('/v1/check', { subject })).status).toBe(200);
      expect((await s.post('/v1/record', { subject, outcome: { status: 401 } })).status).toBe(200);
      clock.advance(10_000);
    }
    // Successful logins do not count.
    await s.post('/v1/record', { subject, outcome: { status: 200, success: true } });
    expect((await s.post('/v1/check', { subject })).status).toBe(200);
    const fourth = await s.post('/v1/record', { subject, outcome: { success: false } });
    expect(fourth.body).toMatchObject({ allowed: false, rule: 'login-lockout' });

    const locked = await s.post('/v1/check', { subject });
    expect(locked.status).toBe(429);
    expect(locked.body.error).toEqual({ code: 'login_disabled', message: 'Too many unsuccessful login attempts. Login is disabled for 15 minutes.', rule: 'login-lockout', retryAfterMs: 900_000 });
    expect(locked.headers.get('retry-after')).toBe('900');
    expect((await s.post('/v1/check', { subject: { user: 'alice@example.com', api: 'Login' } })).status).toBe(200);
    clock.advance(900_000);
    expect((await s.post('/v1/check', { subject })).status).toBe(200);
  });

  it('Picky Assist: the bot-loop breaker drops (200, action drop) and stops replies to the contact', async () => {
    const clock = fakeClock();
    const s = await start({ config: EXAMPLES + 'picky-assist.yaml', store: await store.spec(), clock: clock.fn });
    const reply = (question: string) => ({ subject: { event: 'smart-reply', contact: '+15550100', question } });
    for (let i = 0; i < 5; i++) expect((await s.post('/v1/check', reply('pricing'))).body.action).toBe('allow');
    const dropped = await s.post('/v1/check', reply('pricing'));
    expect(dropped.status).toBe(200);
    expect(dropped.body).toMatchObject({ allowed: false, action: 'drop', rule: 'smart-reply-loop-breaker', code: 'dropped' });
    expect(dropped.headers.get('retry-after')).toBe('60');
    // The block is on the contact: another question to it is dropped too, other contacts are not.
    expect((await s.post('/v1/check', reply('hours'))).body.action).toBe('drop');
    expect((await s.post('/v1/check', { subject: { event: 'smart-reply', contact: '+15550199', question: 'pricing' } })).body.action).toBe('allow');
    clock.advance(60_000);
    expect((await s.post('/v1/check', reply('hours'))).body.action).toBe('allow');
  });

  it('Picky Assist: 2 signups per IP per 8 hours; costs above 1 count as several', async () => {
    const clock = fakeClock();
    const s = await start({ config: EXAMPLES + 'picky-assist.yaml', store: await store.spec(), clock: clock.fn });
    const subject = { ip: '203.0.113.7', api: 'Signup' };
    expect((await s.post('/v1/check', { subject, cost: 2 })).status).toBe(200);
    const third = await s.post('/v1/check', { subject });
    expect(third.status).toBe(429);
    expect(third.body.error).toMatchObject({ code: 'signup_limit', message: 'Only 2 signups are allowed from one IP address within 8 hours.' });
    clock.advance(8 * 3600_000);
    expect((await s.post('/v1/check', { subject })).status).toBe(200);
  });
});
