import { afterAll, describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY } from '../../src/server/routes/dashboard.js';
import { ADMIN, READ, start, stopAll, TOKENS } from '../server/support.js';
import { accountPolicy } from './policies.js';

const POLICY = accountPolicy();

afterAll(stopAll);

describe('the dashboard over HTTP', () => {
  it('serves the page and its files to anyone, with a strict Content-Security-Policy and no inline script', async () => {
    const s = await start({ policy: POLICY, ...TOKENS });
    const page = await s.get('/dashboard');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).toMatch(/default-src 'none'/);
    expect(CONTENT_SECURITY_POLICY).toMatch(/script-src 'self'(;|$)/);
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe/);
    // Every script is a file of the service's own; no event-handler attributes; no other origins.
    const scripts = [...page.text.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attrs, body] of scripts) {
      expect(attrs).toMatch(/src="\/dashboard\/[\w.]+"/);
      expect(body.trim()).toBe('');
    }
    expect(page.text).not.toMatch(/\son[a-z]+=/i);
    expect(page.text).not.toMatch(/https?:\/\//);
    for (const f of ['app.js', 'app.css', 'uplot.js', 'uplot.css']) {
      const r = await s.get(`/dashboard/${f}`);
      expect(r.status, f).toBe(200);
      expect(r.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    }
    expect((await s.get('/dashboard/uplot.js')).text).toMatch(/uPlot/);
    // Only the named files: no path walks out of the folder.
    for (const p of ['/dashboard/package.json', '/dashboard/..%2f..%2fpackage.json', '/dashboard/%2e%2e%2fserve.js', '/dashboard/constructor']) {
      const r = await s.get(p);
      expect(r.status, p).toBe(404);
      expect(r.body.error.code).toBe('not_found');
    }
  });

  it('gives no data without the read or admin token, and the same 401 as the admin API', async () => {
    const s = await start({ policy: POLICY, ...TOKENS });
    for (const p of ['/v1/dashboard/live', '/v1/dashboard/top', '/v1/dashboard/whoami']) {
      const none = await s.get(p);
      expect(none.status, p).toBe(401);
      expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(none.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
      expect(none.text).not.toMatch(/per-account/);
      const wrong = await s.get(p, { authorization: 'Bearer nope' });
      expect(wrong.status).toBe(401);
      expect((await s.get(p, READ)).status).toBe(200);
      expect((await s.get(p, ADMIN)).status).toBe(200);
    }
    expect((await s.get('/v1/dashboard/whoami', READ)).body).toMatchObject({ role: 'read', canWrite: false });
    expect((await s.get('/v1/dashboard/whoami', ADMIN)).body).toMatchObject({ role: 'admin', canWrite: true });
    // With no token configured at all, nothing is served either.
    const open = await start({ policy: POLICY });
    expect((await open.get('/v1/dashboard/live')).status).toBe(401);
  });

  it('shows the decisions, the refused keys with their usage now, and the store health', async () => {
    const s = await start({ policy: POLICY, ...TOKENS });
    for (let i = 0; i < 8; i++) await s.post('/v1/check', { subject: { account: 'acme' } });
    await s.post('/v1/check/batch', { checks: [{ subject: { account: 'globex' } }, { subject: { account: 'globex' } }] });
    const top = await s.get('/v1/dashboard/top?n=5', READ);
    expect(top.status).toBe(200);
    expect(top.body.overall).toEqual([{ rule: 'per-account', key: { account: 'acme' }, stateKey: 'per-account|acme', count: 5, error: 0, usage: expect.objectContaining({ used: 3, limit: 3, remaining: 0, blocked: false }) }]);
    expect(top.body.rules['per-account'][0].key).toEqual({ account: 'acme' });
    // Looking charged nothing: the usage is the same on a second look.
    expect((await s.get('/v1/dashboard/top?n=5', READ)).body.overall[0].usage.used).toBe(3);

    // The counts reach the series at the next tick (the service ticks every second).
    let live: any;
    for (let i = 0; i < 40; i++) {
      live = (await s.get('/v1/dashboard/live?points=30', READ)).body;
      if (live.rules[0].totals.allowed + live.rules[0].totals.refused >= 10) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const rule = live.rules.find((r: any) => r.rule === 'per-account');
    expect(rule.totals).toMatchObject({ allowed: 5, refused: 5 });
    expect(rule.allowed.length).toBe(30);
    expect(live.health).toMatchObject({ store: 'memory', keysTracked: 2, storeErrors: 0, circuit: 'closed', circuitTrips: 0 });
    expect(live.latency.count).toBe(10);
  });

  it('records reloads with their result', async () => {
    const s = await start({ policy: POLICY, ...TOKENS });
    const r = await s.post('/v1/admin/reload', {}, ADMIN);
    expect(r.status).toBe(409); // an inline policy: nothing to reload, and nothing recorded as loaded
    const live = await s.get('/v1/dashboard/live?points=1', READ);
    expect(live.body.reloads).toEqual([]);
  });

  it('refuses bad query parameters with a clear 400', async () => {
    const s = await start({ policy: POLICY, ...TOKENS });
    for (const [q, path] of [['step=7', 'step'], ['points=0', 'points'], ['points=901', 'points'], ['points=abc', 'points']] as const) {
      const r = await s.get(`/v1/dashboard/live?${q}`, READ);
      expect(r.status, q).toBe(400);
      expect(r.body.error).toMatchObject({ code: 'invalid_request', path });
    }
    expect((await s.get('/v1/dashboard/top?n=1000', READ)).status).toBe(400);
  });

  it('is described in /openapi.json', async () => {
    const s = await start({ policy: POLICY, ...TOKENS });
    const paths = Object.keys((await s.get('/openapi.json')).body.paths);
    for (const p of ['/dashboard', '/v1/dashboard/live', '/v1/dashboard/top', '/v1/dashboard/fleet', '/v1/dashboard/whoami']) expect(paths).toContain(p);
  });

  it('is absent when turned off', async () => {
    const s = await start({ policy: POLICY, ...TOKENS, dashboard: false });
    expect((await s.get('/dashboard')).status).toBe(404);
    expect((await s.get('/v1/dashboard/live', READ)).status).toBe(404);
    expect((await s.post('/v1/check', { subject: { account: 'a' } })).status).toBe(200);
  });
});
