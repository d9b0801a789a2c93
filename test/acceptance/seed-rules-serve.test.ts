/**
 * The seed rules through `sluice serve` run as a user runs it (a child process, real sockets on
 * 127.0.0.1): the vendor's text byte for byte in the error body, the status, RateLimit and
 * RateLimit-Policy (draft-10) and Retry-After, the 509 of the egress cap, "contact support"
 * as an admin override and a reset, and reloads mid-window that must not lift a limit.
 * No clock can be injected into a child: windows are far longer than the test.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CCAI_TEXT, send, SEED_POLICY, SMARTASSIST_TEXT, spawnServe, type Child } from './support.js';

const TOKEN = 'acceptance-admin-token-0123456789';
const ADMIN = { authorization: `Bearer ${TOKEN}` };
let dir: string;
let policy: string;
let svc: Child;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-accept-'));
  policy = join(dir, 'policy.yaml');
  copyFileSync(SEED_POLICY, policy);
  svc = await spawnServe(['--config', policy, '--store', `sqlite:${join(dir, 's.db')}`], { SLUICE_ADMIN_TOKEN: TOKEN });
}, 60_000);
afterAll(async () => {
  await svc?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const check = (subject: Record<string, unknown>, extra: Record<string, unknown> = {}) => send(`${svc.url}/v1/check`, { method: 'POST', json: { subject, ...extra } });

describe('seeds 000/001 through POST /v1/check', () => {
  for (const [product, text, rule] of [
    ['smartassist', SMARTASSIST_TEXT, 'smartassist-account-per-minute'],
    ['contact-center-ai', CCAI_TEXT, 'ccai-account-per-minute'],
  ] as const) {
    it(`${product}: the 60th admitted with r=0, the 61st is 429 with the page's text byte for byte`, async () => {
      const subject = { product, account: `acct-${product}`, api: 'Queue Size' };
      for (let i = 1; i < 60; i++) expect((await check(subject)).status).toBe(200);
      const sixtieth = await check(subject);
      expect(sixtieth.status).toBe(200);
      expect(sixtieth.body.remaining).toBe(0);
      expect(sixtieth.headers.get('ratelimit-policy')).toBe(`"${rule}";q=60;w=60`);
      expect(sixtieth.headers.get('ratelimit')).toMatch(new RegExp(`^"${rule}";r=0;t=(59|60)$`));
      expect(sixtieth.headers.get('retry-after')).toBeNull();
      const r = await check(subject);
      expect(r.status).toBe(429);
      expect(r.body.error.message).toBe(text);
      expect(r.body.error.rule).toBe(rule);
      expect(r.bytes.includes(Buffer.from(JSON.stringify(text).slice(1, -1), 'utf8'))).toBe(true);
      expect(Number(r.headers.get('content-length'))).toBe(r.bytes.length);
      expect(r.headers.get('content-type')).toMatch(/^application\/json/);
      const retry = Number(r.headers.get('retry-after'));
      expect(retry).toBeGreaterThanOrEqual(55);
      expect(retry).toBeLessThanOrEqual(60);
      expect(r.body.error.retryAfterMs).toBeLessThanOrEqual(60_000);
      expect(r.headers.get('ratelimit')).toMatch(new RegExp(`^"${rule}";r=0;t=\\d+$`));
    });
  }

  it('"contact support": an admin override raises one account at once; deleting it puts the page\'s limit back', async () => {
    const subject = { product: 'smartassist', account: 'upgraded', api: 'Queue Size' };
    for (let i = 0; i < 60; i++) await check(subject);
    expect((await check(subject)).status).toBe(429);
    const put = await send(`${svc.url}/v1/admin/overrides`, { method: 'PUT', headers: ADMIN, json: { rule: 'smartassist-account-per-minute', key: { account: 'upgraded' }, limit: '100/1m', reason: 'ticket 1' } });
    expect(put.status).toBe(200);
    const after = await check(subject);
    expect(after.status).toBe(200);
    expect(after.headers.get('ratelimit-policy')).toBe('"smartassist-account-per-minute";q=100;w=60');
    const del = await send(`${svc.url}/v1/admin/overrides`, { method: 'DELETE', headers: ADMIN, json: { rule: 'smartassist-account-per-minute', key: { account: 'upgraded' } } });
    expect(del.status).toBe(200);
    expect((await check(subject)).status).toBe(429);
  });
});

describe('seed 002 through the decision API', () => {
  it('login lockout: check, record the 401, and the 5th attempt is refused for about 15 minutes', async () => {
    const login = { product: 'picky-assist', api: 'Login', user: 'svc-maria' };
    for (let i = 0; i < 4; i++) {
      expect((await check(login)).status, `attempt ${i + 1}`).toBe(200);
      const rec = await send(`${svc.url}/v1/record`, { method: 'POST', json: { subject: login, outcome: { status: 401 } } });
      expect(rec.status).toBe(200);
    }
    const r = await check(login);
    expect(r.status).toBe(429);
    expect(r.body.error.rule).toBe('login-lockout');
    const retry = Number(r.headers.get('retry-after'));
    expect(retry).toBeGreaterThan(14 * 60);
    expect(retry).toBeLessThanOrEqual(15 * 60);
  });

  it('support unlocks a locked-out user at once with the admin reset', async () => {
    const login = { product: 'picky-assist', api: 'Login', user: 'svc-unlock' };
    for (let i = 0; i < 4; i++) {
      await check(login);
      await send(`${svc.url}/v1/record`, { method: 'POST', json: { subject: login, outcome: { status: 401 } } });
    }
    expect((await check(login)).status).toBe(429);
    const reset = await send(`${svc.url}/v1/admin/reset`, { method: 'POST', headers: ADMIN, json: { subject: login } });
    expect(reset.status).toBe(200);
    expect((await check(login)).status).toBe(200);
  });

  it('a dropped reply is answered 200 with action "drop"', async () => {
    const reply = { product: 'picky-assist', api: 'Smart Reply', contact: 'c1', question: 'q1' };
    for (let i = 0; i < 5; i++) expect((await check(reply)).body.allowed).toBe(true);
    const r = await check(reply);
    expect(r.status).toBe(200);
    expect([r.body.allowed, r.body.action]).toEqual([false, 'drop']);
  });
});

describe('seed 003 through the decision API', () => {
  it('509 once the 5-day cap is crossed; support resets it', async () => {
    const rec = { product: 'ccaas', api: 'Get Recording Audio', tenant: 'svc-tenant' };
    expect((await send(`${svc.url}/v1/admin/attributes/tenant/svc-tenant`, { method: 'PUT', headers: ADMIN, json: { licensed_agents: 2 } })).status).toBe(200);
    expect((await check(rec)).status).toBe(200);
    const recorded = await send(`${svc.url}/v1/record`, { method: 'POST', json: { subject: rec, outcome: { bytes: 4e9 } } });
    expect(recorded.status).toBe(200);
    const r = await check(rec);
    expect(r.status).toBe(509);
    expect(r.body.error).toMatchObject({ code: 'bandwidth_limit_exceeded', message: 'Bandwidth Limit Exceeded', rule: 'recording-egress-5d' });
    const reset = await send(`${svc.url}/v1/admin/reset`, { method: 'POST', headers: ADMIN, json: { subject: rec, rules: ['recording-egress-5d'] } });
    expect(reset.status).toBe(200);
    const again = await check(rec);
    expect(again.status, 'after the reset, only the 1-per-3-s rule can refuse').toBe(429);
    expect(again.body.error.rule).toBe('recording-audio-per-tenant');
  });
});

describe('reloads mid-window never lift a limit', () => {
  it('SIGHUP, the admin reload and a changed algorithm keep the account refused', async () => {
    const subject = { product: 'contact-center-ai', account: 'reloaded', api: 'Get All Campaigns' };
    for (let i = 0; i < 60; i++) expect((await check(subject)).status).toBe(200);
    expect((await check(subject)).status).toBe(429);

    svc.signal('SIGHUP');
    await waitFor(() => /reload/i.test(svc.out()));
    expect((await check(subject)).status, 'after SIGHUP').toBe(429);

    // the same rule, now on the O(1) sliding window: counts carry over
    writeFileSync(policy, readFileSync(SEED_POLICY, 'utf8').replace('    limit: 60/1m\n', '    limit: 60/1m\n    algorithm: sliding-window\n'));
    const reload = await send(`${svc.url}/v1/admin/reload`, { method: 'POST', headers: ADMIN });
    expect(reload.status).toBe(200);
    expect((await check(subject)).status, 'after switching to sliding-window').toBe(429);

    // a broken file keeps the old policy serving, and the count
    writeFileSync(policy, 'version: 1\nrules: [{ name: x, limit: 0/0s }]\n');
    const broken = await send(`${svc.url}/v1/admin/reload`, { method: 'POST', headers: ADMIN });
    expect(broken.status).toBe(422);
    expect((await check(subject)).status).toBe(429);
    copyFileSync(SEED_POLICY, policy);
    expect((await send(`${svc.url}/v1/admin/reload`, { method: 'POST', headers: ADMIN })).status).toBe(200);
    expect((await check(subject)).status, 'back on the sliding log').toBe(429);
  });
});

describe('racing callers', () => {
  it('20 concurrent recording pulls of one tenant: exactly one admitted; 100 concurrent calls of one account: exactly 60', async () => {
    const pulls = await Promise.all(Array.from({ length: 20 }, () => check({ product: 'ccaas', api: 'Get Recording Audio', tenant: 'racing' })));
    expect(pulls.filter((r) => r.status === 200)).toHaveLength(1);
    expect(pulls.filter((r) => r.status === 429)).toHaveLength(19);
    const calls = await Promise.all(Array.from({ length: 100 }, () => check({ product: 'smartassist', api: 'Raw Data API', account: 'racing' })));
    expect(calls.filter((r) => r.status === 200)).toHaveLength(60);
  });

  it('one batch of 61 checks of one account: the first 60 admitted in order, the 61st refused with the page\'s text', async () => {
    const checks = Array.from({ length: 61 }, () => ({ subject: { product: 'smartassist', api: 'Queue Size', account: 'batched' } }));
    const r = await send(`${svc.url}/v1/check/batch`, { method: 'POST', json: { checks } });
    expect(r.status).toBe(200);
    expect(r.body.allowed).toBe(false);
    expect(r.body.results.map((x: { allowed: boolean }) => x.allowed)).toEqual([...Array(60).fill(true), false]);
    expect(r.body.results[60].error.message).toBe(SMARTASSIST_TEXT);
  });
});

describe('a restart on the service\'s default store (SQLite) never lifts a limit', () => {
  it('SIGTERM and start again on the same file: the full account, the locked login and the 509 are still refused', async () => {
    const account = { product: 'contact-center-ai', account: 'restarted', api: 'Get All Campaigns' };
    const login = { product: 'picky-assist', api: 'Login', user: 'restarted' };
    for (let i = 0; i < 60; i++) await check(account);
    for (let i = 0; i < 4; i++) {
      await check(login);
      await send(`${svc.url}/v1/record`, { method: 'POST', json: { subject: login, outcome: { status: 401 } } });
    }
    expect(await svc.stop()).toBe(0);
    svc = await spawnServe(['--config', policy, '--store', `sqlite:${join(dir, 's.db')}`], { SLUICE_ADMIN_TOKEN: TOKEN });
    expect((await check(account)).status).toBe(429);
    expect((await check(login)).status).toBe(429);
    expect((await check({ product: 'ccaas', api: 'Get Recording Audio', tenant: 'small-restart' })).status).toBe(200);
  }, 60_000);
});

async function waitFor(cond: () => boolean, ms = 10_000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}
