import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/stores/memory.js';
import type { OpResult, Store, TxOp } from '../../src/stores/store.js';
import { EXAMPLES, fakeClock, start, stopAll } from './support.js';

afterEach(stopAll);

/** A memory store that can be made to fail, and to answer slowly. */
class FlakyStore extends MemoryStore {
  failing = false;
  delayMs = 0;
  override apply(ops: readonly TxOp[], now: number): OpResult[] {
    if (this.failing) throw new Error('connection refused');
    return super.apply(ops, now);
  }
  override async ping(): Promise<void> {
    if (this.failing) throw new Error('connection refused');
  }
}

/** A store that answers asynchronously after a delay (the service takes the async path). */
function slowStore(delayMs: number, onApply: () => void = () => {}): Store {
  const inner = new MemoryStore();
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'apply')
        return (ops: readonly TxOp[], now: number) => {
          onApply();
          return new Promise((r) => setTimeout(() => r(target.apply(ops, now)), delayMs));
        };
      if (prop === 'name') return 'slow-memory';
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  }) as Store;
}

describe('metrics', () => {
  it('counts decisions by rule and action, check latency, keys tracked, store errors and fallbacks', async () => {
    const clock = fakeClock();
    const store = new FlakyStore();
    const s = await start({ config: EXAMPLES + 'picky-assist.yaml', store, clock: clock.fn });
    const login = { subject: { user: 'u', api: 'Login' } };
    await s.post('/v1/check/batch', { checks: Array.from({ length: 3 }, () => ({ subject: { ip: '1.2.3.4', api: 'Signup' } })) });
    await s.post('/v1/check', login);
    for (let i = 0; i < 6; i++) await s.post('/v1/check', { subject: { event: 'smart-reply', contact: 'c', question: 'q' } });
    await s.post('/v1/check', { subject: { api: 'Unlimited' } });
    store.failing = true;
    expect((await s.post('/v1/check', login)).status).toBe(200); // fails open: the local stand-in decides
    store.failing = false;

    const m = await s.get('/metrics');
    expect(m.status).toBe(200);
    expect(m.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = m.text;
    expect(text).toContain('sluice_decisions_total{rule="signup-per-ip",action="allow"} 2');
    expect(text).toContain('sluice_decisions_total{rule="signup-per-ip",action="reject"} 1');
    expect(text).toContain('sluice_decisions_total{rule="smart-reply-loop-breaker",action="allow"} 5');
    expect(text).toContain('sluice_decisions_total{rule="smart-reply-loop-breaker",action="drop"} 1');
    expect(text).toContain('sluice_decisions_total{rule="none",action="allow"} 1');
    expect(text).toContain('sluice_decisions_total{rule="login-lockout",action="allow"} 2');
    expect(text).toMatch(/sluice_check_duration_seconds_bucket\{le="\+Inf"\} 12\n/);
    expect(text).toMatch(/sluice_check_duration_seconds_count 12\n/);
    expect(text).toMatch(/# TYPE sluice_check_duration_seconds histogram/);
    expect(text).toContain('sluice_store_errors_total 1');
    expect(text).toContain('sluice_store_fallback_decisions_total 1');
    expect(text).toContain('sluice_store_closed_decisions_total 0');
    expect(text).toMatch(/sluice_keys_tracked [1-9]\d*/);
    expect(text).toContain('sluice_policy_rules 8');
    expect(text).toContain('sluice_policy_reloads_total{result="success"} 0');

    // Counters keep counting across scrapes.
    await s.post('/v1/check', { subject: { api: 'Unlimited' } });
    expect((await s.get('/metrics')).text).toContain('sluice_decisions_total{rule="none",action="allow"} 2');
  });
});

describe('health', () => {
  it('/healthz is alive; /readyz follows the store', async () => {
    const store = new FlakyStore();
    const s = await start({ config: EXAMPLES + 'smartassist.yaml', store });
    expect((await s.get('/healthz')).body).toEqual({ status: 'ok' });
    const ready = await s.get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', store: 'memory', policy: { source: expect.stringContaining('smartassist.yaml'), rules: 1 } });
    store.failing = true;
    const down = await s.get('/readyz');
    expect(down.status).toBe(503);
    expect(down.body.error).toMatchObject({ code: 'not_ready', message: expect.stringContaining('connection refused') });
    expect((await s.get('/healthz')).status).toBe(200);
  });

  it('a store failure refuses fail-closed rules with 503', async () => {
    const store = new FlakyStore();
    const s = await start({ policy: 'rules:\n  - name: strict\n    key: [account]\n    limit: 5/1m\n    on_store_error: closed\n', store });
    store.failing = true;
    const r = await s.post('/v1/check', { subject: { account: 'a' } });
    expect(r.status).toBe(503);
    expect(r.body.error).toMatchObject({ code: 'store_unavailable', rule: 'strict' });
    expect(r.headers.get('retry-after')).toBe('1');
  });
});

it('/openapi.json describes every route', async () => {
  const s = await start({ config: EXAMPLES + 'smartassist.yaml' });
  const r = await s.get('/openapi.json');
  expect(r.status).toBe(200);
  expect(r.body.openapi).toBe('3.1.0');
  const paths = Object.keys(r.body.paths);
  for (const p of ['/v1/check', '/v1/check/batch', '/v1/record', '/v1/admin/overrides', '/v1/admin/attributes/{attr}/{value}', '/v1/admin/reset', '/v1/admin/inspect', '/v1/admin/reload', '/metrics', '/healthz', '/readyz']) {
    expect(paths).toContain(p);
  }
  // Every route the server has is in the document (fastify's HEAD twins aside).
  const routes = s.app.printRoutes({ commonPrefix: false });
  for (const p of ['/v1/admin/overrides', '/v1/admin/reset', '/v1/admin/inspect', '/v1/admin/reload', '/v1/admin/policy', '/metrics', '/healthz', '/readyz', '/openapi.json']) expect(routes).toContain(p);
});

it('works on an asynchronous store too', async () => {
  const s = await start({ config: EXAMPLES + 'smartassist.yaml', store: slowStore(2) });
  const r = await s.post('/v1/check', { subject: { account: 'a', api: 'Queue Size' } });
  expect(r.status).toBe(200);
  expect(r.headers.get('ratelimit')).toBe('"account-per-minute";r=59;t=60');
  expect((await s.post('/v1/check/batch', { checks: [{ subject: { account: 'a', api: 'Queue Size' } }] })).body.results[0].remaining).toBe(58);
});

it('shuts down gracefully: in-flight requests finish, new connections are refused, the store is closed', async () => {
  let applying!: () => void;
  const waiting = new Promise<void>((r) => (applying = r));
  const store = slowStore(150, () => applying());
  let closed = false;
  const closing = store.close.bind(store);
  const s = await start({ config: EXAMPLES + 'smartassist.yaml', store: 'memory' });
  await s.close();
  // A store the service opened is closed with it; one it was given is left to its owner.
  const t = await start({ config: EXAMPLES + 'smartassist.yaml', store: Object.assign(store, { close: async () => { closed = true; await closing(); } }) });
  const port = new URL(t.url).port;
  const inflight = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/check', headers: { 'content-type': 'application/json' } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end(JSON.stringify({ subject: { account: 'a', api: 'Queue Size' } }));
  });
  await waiting; // the request is now waiting on the store (a fixed sleep raced a loaded machine)
  const done = t.close();
  const r = await inflight;
  expect(r.status).toBe(200);
  expect(JSON.parse(r.body).allowed).toBe(true);
  await done;
  await expect(fetch(t.url + '/healthz')).rejects.toThrow();
  expect(closed).toBe(false);
});

it('mounts envoy POST /json when an envoy config is given', async () => {
  const s = await start({ config: EXAMPLES + 'smartassist.yaml', envoyConfig: EXAMPLES + 'envoy/config.yaml' });
  const body = { domain: 'messaging', descriptors: [{ entries: [{ key: 'to_number', value: '2061111111' }] }] };
  const r = await s.post('/json', body);
  expect(r.status).toBe(200);
  expect(r.body.overallCode).toBe('OK');
  const none = await start({ config: EXAMPLES + 'smartassist.yaml' });
  expect((await none.post('/json', body)).status).toBe(404);
});

it('serves envoy alone (--envoy-config without a policy): /json limits, /v1/check allows, reload re-reads the envoy config', async () => {
  const s = await start({ envoyConfig: EXAMPLES + 'envoy/config.yaml', adminToken: 'admin-secret' });
  const body = { domain: 'messaging', descriptors: [{ entries: [{ key: 'message_type', value: 'marketing' }, { key: 'to_number', value: '2061111111' }] }] };
  for (let i = 0; i < 5; i++) expect((await s.post('/json', body)).status).toBe(200);
  expect((await s.post('/json', body)).status).toBe(429);
  expect((await s.post('/v1/check', { subject: { account: 'a' } })).body).toMatchObject({ allowed: true, rules: [] });
  expect((await s.get('/readyz')).status).toBe(200);
  const r = await s.post('/v1/admin/reload', undefined, { authorization: 'Bearer admin-secret' });
  expect(r.status).toBe(200);
  expect(r.body.source).toContain('envoy/config.yaml');
});
