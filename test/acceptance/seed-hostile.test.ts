/**
 * Hostile use of the seed policy: key values a client controls (empty, 1,024 characters, `|`,
 * `%`, unicode, lone surrogates, CR/LF, a number spelt as a string), floods of distinct keys
 * into a bounded store (a limit, a lockout or an egress cap must not be lifted by eviction),
 * malformed bodies, and the clock stepping back and forth. Through the library on an injected
 * clock, and through `sluice serve` (a child process, --max-keys) over loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sluice } from '../../src/index.js';
import { manualClock, send, SEED_POLICY, spawnServe, type Child } from './support.js';

async function open(maxKeys?: number) {
  const clock = manualClock();
  const sluice = await Sluice.open({ policy: SEED_POLICY, store: 'memory', clock: clock.now, ...(maxKeys ? { maxKeys } : {}) });
  return { sluice, clock };
}

describe('key values are data: no value shares or escapes another value\'s budget', () => {
  it('`|`, `%` and `=` inside a two-attribute key never make two subjects one', async () => {
    const { sluice } = await open();
    const reply = (contact: string, question: string) => ({ product: 'picky-assist', api: 'Smart Reply', contact, question });
    for (let i = 0; i < 5; i++) expect((await sluice.check(reply('a|b', 'c'))).allowed).toBe(true);
    expect((await sluice.check(reply('a|b', 'c'))).allowed).toBe(false);
    for (const [c, q] of [['a', 'b|c'], ['a%7Cb', 'c'], ['a', 'b%7Cc'], ['a|b|c', ''], ['a=b', 'c']]) {
      expect((await sluice.check(reply(c, q))).allowed, `${c} / ${q}`).toBe(true);
    }
    await sluice.close();
  });

  it('odd values each get the page\'s limit, exactly: 1,024 characters, unicode, a lone surrogate, CR/LF', async () => {
    const { sluice } = await open();
    for (const account of ['x'.repeat(1024), 'Zoë 👩‍💻', 'a\ud800', 'a\r\nSet-Cookie: x=1', '{acme}', '__proto__', 'constructor']) {
      const s = { product: 'smartassist', api: 'Queue Size', account };
      for (let i = 0; i < 60; i++) expect((await sluice.check(s)).allowed, `${JSON.stringify(account).slice(0, 40)} #${i + 1}`).toBe(true);
      const d = await sluice.check(s);
      expect(d.allowed, `${JSON.stringify(account).slice(0, 40)} #61`).toBe(false);
      expect(d.rule).toBe('smartassist-account-per-minute');
    }
    await sluice.close();
  });

  it('an empty value is a missing key: the library skips the rule and says so (README: Unmatched traffic)', async () => {
    const { sluice } = await open();
    const d = await sluice.check({ product: 'smartassist', api: 'Queue Size', account: '' });
    expect(d.skipped).toContainEqual({ rule: 'smartassist-account-per-minute', reason: 'missing_key', missing: ['account'] });
    const strict = await sluice.check({ product: 'smartassist', api: 'Queue Size', account: '' }, { onMissingKey: 'reject' } as never);
    expect([strict.allowed, strict.status, strict.code]).toEqual([false, 400, 'missing_key_attribute']);
    await sluice.close();
  });

  it('an account sent as the number 7 and as the text "7" is one account (JSON gives a caller both spellings)', async () => {
    const { sluice } = await open();
    for (let i = 0; i < 30; i++) expect((await sluice.check({ product: 'smartassist', api: 'Queue Size', account: 7 })).allowed).toBe(true);
    for (let i = 0; i < 30; i++) expect((await sluice.check({ product: 'smartassist', api: 'Queue Size', account: '7' })).allowed).toBe(true);
    expect((await sluice.check({ product: 'smartassist', api: 'Queue Size', account: 7 })).allowed).toBe(false);
    await sluice.close();
  });
});

describe('floods of distinct keys into a bounded memory store lift nothing', () => {
  it('an account at its limit, a locked login, a blocked contact and a tenant past its egress cap stay refused through 20,000 other keys', async () => {
    const { sluice, clock } = await open(500);
    const account = { product: 'smartassist', api: 'Queue Size', account: 'victim' };
    const login = { product: 'picky-assist', api: 'Login', user: 'victim' };
    const reply = { product: 'picky-assist', api: 'Smart Reply', contact: 'victim', question: 'q' };
    const rec = { product: 'ccaas', api: 'Get Recording Audio', tenant: 'victim' };
    for (let i = 0; i < 60; i++) await sluice.check(account);
    for (let i = 0; i < 4; i++) {
      await sluice.check(login);
      await sluice.record(login, { status: 401 });
    }
    for (let i = 0; i < 6; i++) await sluice.check(reply);
    await sluice.check(rec);
    await sluice.record(rec, { bytes: 2e9 });
    const refusedAll = async () => [
      (await sluice.check(account)).allowed,
      (await sluice.check(login)).allowed,
      (await sluice.check({ ...reply, question: 'other' })).allowed,
      (await sluice.check(rec)).status,
    ];
    clock.advance(3000);
    expect(await refusedAll()).toEqual([false, false, false, 509]);
    for (let i = 0; i < 20_000; i++) {
      const k = `flood-${i}`;
      const kind = i % 4;
      if (kind === 0) await sluice.check({ ...account, account: k });
      else if (kind === 1) await sluice.record({ ...login, user: k }, { status: 401 });
      else if (kind === 2) await sluice.check({ ...reply, contact: k });
      else {
        await sluice.check({ ...rec, tenant: k });
        await sluice.record({ ...rec, tenant: k }, { bytes: 1 });
      }
    }
    expect(await refusedAll()).toEqual([false, false, false, 509]);
    await sluice.close();
  });
});

describe('the clock stepping', () => {
  it('a step back of an hour keeps a locked login and a full account refused, for at most their own lengths', async () => {
    const { sluice, clock } = await open();
    const login = { product: 'picky-assist', api: 'Login', user: 'stepper' };
    const account = { product: 'contact-center-ai', api: 'Get All Campaigns', account: 'stepper' };
    for (let i = 0; i < 4; i++) {
      await sluice.check(login);
      await sluice.record(login, { status: 401 });
    }
    for (let i = 0; i < 60; i++) await sluice.check(account);
    clock.advance(-3_600_000);
    const locked = await sluice.check(login);
    expect(locked.allowed, 'stepped back').toBe(false);
    expect(locked.retryAfterMs, 'waits at most the lockout, never the size of the step').toBeLessThanOrEqual(15 * 60_000);
    const full = await sluice.check(account);
    expect(full.allowed, 'stepped back').toBe(false);
    expect(full.retryAfterMs).toBeLessThanOrEqual(60_000);
    clock.advance(5 * 60_000);
    expect((await sluice.check(login)).allowed, '5 min on').toBe(false);
    expect((await sluice.check(account)).allowed, '5 min on: the clamped log was written back').toBe(true);
    await sluice.close();
  });
});

describe('through sluice serve --max-keys', () => {
  let svc: Child;
  beforeAll(async () => {
    svc = await spawnServe(['--config', SEED_POLICY, '--store', 'memory', '--max-keys', '1000']);
  }, 60_000);
  afterAll(async () => {
    await svc?.stop();
  });
  const check = (subject: unknown) => send(`${svc.url}/v1/check`, { method: 'POST', json: { subject } });

  it('values a client sends: 1,024 characters admitted, 1,025 refused 422; CR/LF and lone surrogates decided as data; no 5xx', async () => {
    const s = (account: unknown) => ({ product: 'smartassist', api: 'Queue Size', account });
    expect((await check(s('y'.repeat(1024)))).status).toBe(200);
    const long = await check(s('y'.repeat(1025)));
    expect(long.status).toBe(422);
    expect(long.body.error.path).toBe('subject.account');
    for (const v of ['a\r\nx-evil: 1', 'a\ud800b', '|', '%7C']) {
      for (let i = 0; i < 60; i++) expect((await check(s(v))).status, JSON.stringify(v)).toBe(200);
      const r = await check(s(v));
      expect(r.status, JSON.stringify(v)).toBe(429);
      expect(r.headers.get('x-evil')).toBeNull();
    }
  });

  it('a flood of 10,000 distinct accounts by batch leaves a full account refused', async () => {
    const victim = { product: 'smartassist', api: 'Queue Size', account: 'wire-victim' };
    for (let i = 0; i < 60; i++) expect((await check(victim)).status).toBe(200);
    expect((await check(victim)).status).toBe(429);
    for (let b = 0; b < 10; b++) {
      const checks = Array.from({ length: 1000 }, (_, i) => ({ subject: { ...victim, account: `wire-${b}-${i}` } }));
      expect((await send(`${svc.url}/v1/check/batch`, { method: 'POST', json: { checks } })).status).toBe(200);
    }
    expect((await check(victim)).status).toBe(429);
  });

  it('malformed bodies get a JSON 4xx that says where', async () => {
    const cases: [string, string, number][] = [
      ['{"subject": {"account": {"a": 1}}}', 'application/json', 400],
      ['{"subject": {"account": "a"}, "cost": -1}', 'application/json', 422],
      ['{"subject": {"account": "a"}, "cost": "1"}', 'application/json', 400],
      ['{"subject": {"__proto__": {"x": 1}}}', 'application/json', 400],
      ['{"subject": {"account": "a"}', 'application/json', 400],
      ['{"subject": {"account": "a"}}', 'text/plain', 415],
      ['', 'application/json', 400],
      ['[]', 'application/json', 400],
      ['{"subject": {"account": "a"}, "subject": {"account": "b"}}', 'application/json', 200],
    ];
    for (const [body, type, status] of cases) {
      const r = await send(`${svc.url}/v1/check`, { method: 'POST', body, headers: { 'content-type': type } });
      expect(r.status, body).toBe(status);
      if (status >= 400) expect(typeof r.body?.error?.message, body).toBe('string');
    }
  });
});
