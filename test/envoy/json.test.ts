import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvoyRateLimiter, loadEnvoyConfig, registerEnvoyJson } from '../../src/envoy/index.js';
import { MemoryStore } from '../../src/stores/memory.js';
import { FakeClock } from './support.js';

const CONFIG = `domain: edge
descriptors:
  - key: remote_address
    rate_limit:
      unit: second
      requests_per_unit: 2
`;

describe('POST /json over HTTP', () => {
  let app: FastifyInstance;
  let url: string;
  const clock = new FakeClock();

  beforeAll(async () => {
    app = Fastify();
    app.get('/other', async () => ({ ok: true }));
    registerEnvoyJson(app, new EnvoyRateLimiter(loadEnvoyConfig(CONFIG), new MemoryStore(), clock));
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    url = `${address}/json`;
  });

  afterAll(async () => {
    await app?.close();
  });

  const post = async (body: string, contentType = 'application/json') => {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body });
    return { status: res.status, body: (await res.json()) as any };
  };
  const ip = (value: string, extra: Record<string, unknown> = {}) => JSON.stringify({ domain: 'edge', descriptors: [{ entries: [{ key: 'remote_address', value }] }], ...extra });

  it('200 with the proto3 JSON response, then 429 when over the limit', async () => {
    const ok = await post(ip('1.1.1.1'));
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({
      overallCode: 'OK',
      statuses: [{ code: 'OK', currentLimit: { requestsPerUnit: 2, unit: 'SECOND' }, limitRemaining: 1, durationUntilReset: '1s' }],
    });
    expect(ok.body.responseHeadersToAdd).toContainEqual({ key: 'ratelimit', value: '"remote_address";r=1;t=1' });
    expect((await post(ip('1.1.1.1'))).status).toBe(200);
    const over = await post(ip('1.1.1.1'));
    expect(over.status).toBe(429);
    expect(over.body).toMatchObject({ overallCode: 'OVER_LIMIT', statuses: [{ code: 'OVER_LIMIT', limitRemaining: 0 }] });
  });

  it('reads hitsAddend and hits_addend, at request and descriptor level, and any content type (curl -d)', async () => {
    const r1 = await post(ip('2.2.2.2', { hitsAddend: 2 }), 'application/x-www-form-urlencoded');
    expect(r1.status).toBe(200);
    expect(r1.body.statuses[0].limitRemaining).toBe(0);
    const peek = await post(JSON.stringify({ domain: 'edge', descriptors: [{ entries: [{ key: 'remote_address', value: '2.2.2.2' }], hits_addend: 0 }] }));
    expect(peek.status).toBe(200);
    const r2 = await post(ip('3.3.3.3', { hits_addend: 3 }));
    expect(r2.status).toBe(429);
  });

  it('400 with a JSON error body for an empty domain, no descriptors, bad JSON or unknown fields', async () => {
    const noDomain = await post(JSON.stringify({ domain: '', descriptors: [{ entries: [{ key: 'a', value: 'b' }] }] }));
    expect(noDomain).toEqual({ status: 400, body: { error: { code: 'invalid_request', message: 'rate limit domain must not be empty' } } });
    const noDescriptors = await post(JSON.stringify({ domain: 'edge' }));
    expect(noDescriptors.status).toBe(400);
    expect(noDescriptors.body.error.message).toMatch(/descriptor list must not be empty/);
    const bad = await post('{"domain": ');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_json');
    const unknown = await post(JSON.stringify({ domain: 'edge', descriptors: [{ entries: [{ key: 'a', value: 'b' }], limits: {} }] }));
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toMatch(/unknown field "descriptors\[0\]\.limits"/);
    expect((await post('')).status).toBe(400);
  });

  it('503 with a JSON error body when the store fails', async () => {
    const broken = Fastify();
    const store = new MemoryStore();
    store.apply = () => {
      throw new Error('disk on fire');
    };
    registerEnvoyJson(broken, new EnvoyRateLimiter(loadEnvoyConfig(CONFIG), store, clock));
    const address = await broken.listen({ port: 0, host: '127.0.0.1' });
    try {
      const res = await fetch(`${address}/json`, { method: 'POST', body: ip('9.9.9.9') });
      expect(res.status).toBe(503);
      expect(((await res.json()) as any).error).toMatchObject({ code: 'store_unavailable', message: expect.stringMatching(/disk on fire/) });
    } finally {
      await broken.close();
    }
  });

  it('leaves the rest of the app alone', async () => {
    const res = await fetch(url.replace('/json', '/other'));
    expect(await res.json()).toEqual({ ok: true });
  });
});
