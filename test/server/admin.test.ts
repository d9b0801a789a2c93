import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/stores/memory.js';
import { storeCases } from './stores.js';
import { ADMIN, EXAMPLES, fakeClock, READ, start, stopAll, TOKENS } from './support.js';

afterEach(stopAll);

const queueSize = (account: string) => ({ subject: { account, api: 'Queue Size' } });
const checks = (n: number, account: string) => ({ checks: Array.from({ length: n }, () => queueSize(account)) });

/** A logger whose lines the test can read. */
function capturedLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l.trim()) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

describe('overrides are seen by every instance sharing the store', () => {
  const cases = storeCases('admin overrides across instances');
  describe.each(cases)('on the $name store', (store) => {
    afterAll(() => store.teardown());

    it('an override set through one instance raises the limit on the other, until deleted', async () => {
      const clock = fakeClock();
      const spec = store.name === 'memory' ? new MemoryStore() : await store.spec();
      const a = await start({ config: EXAMPLES + 'smartassist.yaml', store: spec, clock: clock.fn, ...TOKENS });
      const b = await start({ config: EXAMPLES + 'smartassist.yaml', store: spec, clock: clock.fn, ...TOKENS });

      const put = await a.call('PUT', '/v1/admin/overrides', { rule: 'account-per-minute', key: { account: 'acme' }, limit: '600/1m', reason: 'ticket #4711' }, ADMIN);
      expect(put.status).toBe(200);
      expect(put.body.override).toMatchObject({ rule: 'account-per-minute', key: { account: 'acme' }, stateKey: 'account-per-minute|acme', limit: '600/1m', limitCount: 600, windowMs: 60_000, reason: 'ticket #4711', by: 'admin', source: 'store' });

      const onB = await b.post('/v1/check/batch', checks(100, 'acme'));
      expect(onB.body.allowed).toBe(true);
      expect(onB.body.results[99]).toMatchObject({ limit: 600, remaining: 500 });
      expect(onB.headers.get('ratelimit-policy')).toBeNull(); // batch answers carry per-check figures, not headers
      const single = await b.post('/v1/check', queueSize('acme'));
      expect(single.headers.get('ratelimit-policy')).toBe('"account-per-minute";q=600;w=60');
      // Other accounts keep the published limit.
      expect((await b.post('/v1/check/batch', checks(61, 'other'))).body.results[60].status).toBe(429);

      const list = await b.get('/v1/admin/overrides', READ);
      expect(list.status).toBe(200);
      expect(list.body.overrides).toHaveLength(1);
      expect(list.body.policy).toEqual([expect.objectContaining({ rule: 'account-per-minute', key: { account: 'acme-enterprise' }, limit: '300/1m', source: 'policy' })]);

      const del = await b.call('DELETE', '/v1/admin/overrides', { rule: 'account-per-minute', key: { account: 'acme' } }, ADMIN);
      expect(del.status).toBe(200);
      expect((await a.call('DELETE', '/v1/admin/overrides', { rule: 'account-per-minute', key: { account: 'acme' } }, ADMIN)).status).toBe(404);
      const after = await a.post('/v1/check', queueSize('acme'));
      expect(after.status).toBe(429);
      expect(after.body.error.code).toBe('rate_limit_exceeded');
    });
  });
});

describe('admin API', () => {
  it('overrides expire (ttl or ISO date) and their input is checked: unknown rule, wrong key, bad limit → 422; wrong shape → 400', async () => {
    const clock = fakeClock();
    const s = await start({ config: EXAMPLES + 'smartassist.yaml', clock: clock.fn, ...TOKENS });
    const put = (body: unknown) => s.call('PUT', '/v1/admin/overrides', body, ADMIN);

    const ttl = await put({ rule: 'account-per-minute', key: { account: 'acme' }, limit: '120/1m', ttl: '1h' });
    expect(ttl.body.override.expires).toBe(new Date(clock.now + 3600_000).toISOString());
    expect((await s.post('/v1/check/batch', checks(61, 'acme'))).body.allowed).toBe(true);
    clock.advance(3600_000);
    expect((await s.post('/v1/check/batch', checks(61, 'acme'))).body.results[60].status).toBe(429);
    expect((await s.get('/v1/admin/overrides', ADMIN)).body.overrides).toEqual([]);

    const iso = await put({ rule: 'account-per-minute', key: { account: 'acme' }, limit: '90/1m', expires: '2030-01-01T00:00:00Z' });
    expect(iso.status).toBe(200);
    expect(iso.body.override.expires).toBe('2030-01-01T00:00:00.000Z');

    const unknownRule = await put({ rule: 'acount-per-minute', key: { account: 'acme' }, limit: '600/1m' });
    expect(unknownRule.status).toBe(422);
    expect(unknownRule.body.error).toMatchObject({ code: 'unprocessable_entity', message: 'rule: unknown rule "acount-per-minute" (did you mean "account-per-minute"?)' });
    const wrongKey = await put({ rule: 'account-per-minute', key: { tenant: 'acme' }, limit: '600/1m' });
    expect(wrongKey.status).toBe(422);
    expect(wrongKey.body.error.message).toContain('keyed by [account]');
    const badLimit = await put({ rule: 'account-per-minute', key: { account: 'acme' }, limit: '600 a minute' });
    expect(badLimit.status).toBe(422);
    expect(badLimit.body.error.issues).toEqual([{ path: 'limit', message: expect.stringContaining('is not a limit') }]);
    expect((await put({ rule: 'account-per-minute', key: { account: 'acme' }, limit: '600/1m', expires: '2001-01-01T00:00:00Z' })).status).toBe(422);
    expect((await put({ rule: 'account-per-minute', key: { account: 'acme' }, limit: '600/1m', ttl: 'soon' })).status).toBe(422);

    const extra = await put({ rule: 'account-per-minute', key: { account: 'acme' }, limit: '600/1m', colour: 'red' });
    expect(extra.status).toBe(400);
    expect(extra.body.error).toMatchObject({ code: 'invalid_request', path: 'colour', message: expect.stringMatching(/^colour: unknown field "colour"/) });
    const wrongType = await put({ rule: 'account-per-minute', key: { account: { id: 1 } }, limit: 600 });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.error.message).toContain('key.account: expected string, number or boolean');
    expect(wrongType.body.error.message).toContain('limit: expected a string');
  });

  it('reset frees a tenant that hit the 509 egress cap ("contact support to reset the cap")', async () => {
    const clock = fakeClock();
    const { logger, lines } = capturedLogger();
    const s = await start({ config: EXAMPLES + 'ccaas-recordings.yaml', clock: clock.fn, logger, ...TOKENS });
    const subject = { tenant: 'smallco', api: 'Get Recording Audio' };
    await s.post('/v1/record', { subject, outcome: { bytes: 5e9 } });
    expect((await s.post('/v1/check', { subject })).status).toBe(509);

    const peek = await s.post('/v1/admin/inspect', { subject }, READ);
    expect(peek.status).toBe(200);
    expect(peek.body.rules).toEqual([
      expect.objectContaining({ rule: 'recording-audio-per-tenant', key: 'recording-audio-per-tenant|smallco', algorithm: 'gcra', limit: 1, blocked: false }),
      expect.objectContaining({ rule: 'recording-egress-5d', key: 'recording-egress-5d|smallco', algorithm: 'rolling-quota', limit: 5e9, used: 5e9, remaining: 0, phase: 'outcome' }),
    ]);
    // Inspecting charges nothing.
    expect((await s.post('/v1/admin/inspect', { subject }, READ)).body.rules[1].used).toBe(5e9);

    expect((await s.post('/v1/admin/reset', { subject }, READ)).status).toBe(403);
    const reset = await s.post('/v1/admin/reset', { subject, rules: ['recording-egress-5d'] }, ADMIN);
    expect(reset.status).toBe(200);
    expect(reset.body).toEqual({ reset: [{ rule: 'recording-egress-5d', key: 'recording-egress-5d|smallco' }], keysWithState: 1 });
    clock.advance(3000);
    expect((await s.post('/v1/check', { subject })).status).toBe(200);
    expect(lines).toContainEqual(expect.objectContaining({ level: 30, who: 'admin', action: 'reset', subject, msg: 'usage reset' }));

    expect((await s.post('/v1/admin/reset', { subject: { tenant: 'x' } }, ADMIN)).status).toBe(422);
    expect((await s.post('/v1/admin/reset', { subject, rules: ['nope'] }, ADMIN)).status).toBe(422);
  });

  it('reset lifts a login lockout (state and block keys)', async () => {
    const clock = fakeClock();
    const s = await start({ config: EXAMPLES + 'picky-assist.yaml', clock: clock.fn, ...TOKENS });
    const subject = { user: 'bob', api: 'Login' };
    for (let i = 0; i < 4; i++) await s.post('/v1/record', { subject, outcome: { status: 401 } });
    expect((await s.post('/v1/check', { subject })).status).toBe(429);
    const inspect = await s.post('/v1/admin/inspect', { subject }, ADMIN);
    expect(inspect.body.rules[0]).toMatchObject({ rule: 'login-lockout', blocked: true, blockedForMs: 900_000 });
    const reset = await s.post('/v1/admin/reset', { subject }, ADMIN);
    expect(reset.body.reset).toEqual([{ rule: 'login-lockout', key: 'login-lockout|bob', blockKey: 'login-lockout!b|bob' }]);
    expect(reset.body.keysWithState).toBe(2);
    expect((await s.post('/v1/check', { subject })).status).toBe(200);
  });

  it('attributes raise the egress cap at once, and are validated', async () => {
    const clock = fakeClock();
    const { logger, lines } = capturedLogger();
    const s = await start({ config: EXAMPLES + 'ccaas-recordings.yaml', clock: clock.fn, logger, ...TOKENS });
    const subject = { tenant: 'smallco', api: 'Get Recording Audio' };
    await s.post('/v1/record', { subject, outcome: { bytes: 5e9 } });
    expect((await s.post('/v1/check', { subject })).status).toBe(509);

    const before = await s.get('/v1/admin/attributes/tenant/smallco', READ);
    expect(before.body).toEqual({ entity: 'tenant:smallco', attributes: {}, policy: { licensed_agents: 2 }, effective: { licensed_agents: 2 } });
    const put = await s.call('PUT', '/v1/admin/attributes/tenant/smallco', { licensed_agents: 4 }, ADMIN);
    expect(put.status).toBe(200);
    expect(put.body.effective).toEqual({ licensed_agents: 4 });
    const ok = await s.post('/v1/check', { subject });
    expect(ok.status).toBe(200);
    expect(ok.body.rules[1]).toMatchObject({ name: 'recording-egress-5d', limit: 1e10, remaining: 5e9 });
    expect(ok.headers.get('ratelimit-policy')).toContain('"recording-egress-5d";q=10000000000;w=432000;qu="content-bytes"');
    expect(lines).toContainEqual(expect.objectContaining({ who: 'admin', action: 'attributes.set', entity: 'tenant:smallco', attributes: { licensed_agents: 4 } }));

    expect((await s.call('PUT', '/v1/admin/attributes/tenant/smallco', { licensed_agents: -1 }, ADMIN)).status).toBe(422);
    expect((await s.call('PUT', '/v1/admin/attributes/tenant/smallco', {}, ADMIN)).status).toBe(422);
    const badType = await s.call('PUT', '/v1/admin/attributes/tenant/smallco', { licensed_agents: 'forty' }, ADMIN);
    expect(badType.status).toBe(400);
    expect(badType.body.error.message).toMatch(/^licensed_agents: expected number/);
    expect((await s.call('PUT', '/v1/admin/attributes/ten%20ant/smallco', { licensed_agents: 1 }, ADMIN)).status).toBe(400);
    // null clears a stored attribute: the policy file's value applies again.
    const cleared = await s.call('PUT', '/v1/admin/attributes/tenant/smallco', { licensed_agents: null }, ADMIN);
    expect(cleared.body).toMatchObject({ attributes: {}, effective: { licensed_agents: 2 } });
  });

  it('authenticates with bearer tokens: 401 with WWW-Authenticate, 403 for the read token on a write', async () => {
    const s = await start({ config: EXAMPLES + 'smartassist.yaml', ...TOKENS });
    const none = await s.get('/v1/admin/overrides');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="sluice-admin"');
    expect(none.body.error.code).toBe('unauthorized');
    const wrong = await s.get('/v1/admin/overrides', { authorization: 'Bearer nope' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toContain('invalid_token');
    expect((await s.get('/v1/admin/overrides', { authorization: 'Basic YWRtaW46c2VjcmV0' })).status).toBe(401);
    expect((await s.get('/v1/admin/overrides', READ)).status).toBe(200);
    expect((await s.get('/v1/admin/policy', READ)).body.rules[0]).toMatchObject({ name: 'account-per-minute', key: ['account'], limit: 60, window: '1m' });
    const forbidden = await s.call('PUT', '/v1/admin/overrides', { rule: 'account-per-minute', key: { account: 'a' }, limit: '1/1m' }, READ);
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error.code).toBe('forbidden');
    expect((await s.post('/v1/admin/reload', undefined, READ)).status).toBe(403);

    // Without configured tokens the admin API is closed.
    const closed = await start({ config: EXAMPLES + 'smartassist.yaml' });
    const r = await closed.get('/v1/admin/overrides', ADMIN);
    expect(r.status).toBe(401);
    expect(r.body.error.message).toContain('no admin or read token is configured');
  });
});

describe('policy reload', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-reload-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const policy = (limit: string) => `rules:\n  - name: per-account\n    key: [account]\n    limit: ${limit}\n`;

  it('reloads a good file through the admin API and refuses a broken one (422 with file:line issues) while the old policy keeps serving', async () => {
    const file = join(dir, 'api.yaml');
    writeFileSync(file, policy('2/1m'));
    const { logger, lines } = capturedLogger();
    const s = await start({ config: file, logger, ...TOKENS });
    const subject = { subject: { account: 'a' } };
    expect((await s.post('/v1/check', subject)).body.limit).toBe(2);

    writeFileSync(file, policy('5/1m'));
    const ok = await s.post('/v1/admin/reload', undefined, ADMIN);
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ reloaded: true, source: file, rules: 1 });
    expect((await s.post('/v1/check', subject)).body).toMatchObject({ limit: 5, remaining: 3 }); // usage carried over
    expect(lines).toContainEqual(expect.objectContaining({ level: 30, who: 'admin', trigger: 'api', msg: 'policy reloaded' }));

    writeFileSync(file, 'rules:\n  - name: per-account\n    key: [account]\n    limit: 5/1m\n    colour: red\n');
    const bad = await s.post('/v1/admin/reload', undefined, ADMIN);
    expect(bad.status).toBe(422);
    expect(bad.body.error.code).toBe('invalid_policy');
    expect(bad.body.error.issues).toEqual([expect.objectContaining({ path: 'rules[0].colour', file, line: 5, message: expect.stringContaining('unknown field') })]);
    expect(bad.body.error.message).toContain(`${file}:5`);

    writeFileSync(file, 'rules:\n  - name: per-account\n    key: [account]\n    limit: 5 a minute\n');
    const badLimit = await s.post('/v1/admin/reload', undefined, ADMIN);
    expect(badLimit.status).toBe(422);
    expect(badLimit.body.error.issues).toEqual([expect.objectContaining({ path: 'rules[0].limit', file, line: 4 })]);
    expect(lines).toContainEqual(expect.objectContaining({ level: 50, who: 'admin', trigger: 'api' }));
    expect((await s.post('/v1/check', subject)).body).toMatchObject({ limit: 5, remaining: 2 });

    writeFileSync(file, 'rules: [');
    expect((await s.post('/v1/admin/reload', undefined, ADMIN)).status).toBe(422);
    // The handle's reload (what SIGHUP calls) reports the same.
    expect(s.reload()).toMatchObject({ ok: false });
    expect((await s.post('/v1/check', subject)).status).toBe(200);

    const metrics = (await s.get('/metrics')).text;
    expect(metrics).toMatch(/sluice_policy_reloads_total\{result="success"\} 1/);
    expect(metrics).toMatch(/sluice_policy_reloads_total\{result="failure"\} 4/);
  });

  it('reloads when the file changes (watched, debounced)', async () => {
    const file = join(dir, 'watched.yaml');
    writeFileSync(file, policy('2/1m'));
    const s = await start({ config: file, watch: true });
    writeFileSync(file, policy('7/1m'));
    let limit = 0;
    for (let i = 0; i < 100 && limit !== 7; i++) {
      await new Promise((r) => setTimeout(r, 50));
      limit = (await s.post('/v1/check', { subject: { account: 'w' } })).body.limit;
    }
    expect(limit).toBe(7);
  });

  it('an inline policy has no file to reload: 409', async () => {
    const s = await start({ policy: policy('1/1s'), ...TOKENS });
    const r = await s.post('/v1/admin/reload', undefined, ADMIN);
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('no_policy_file');
  });
});
