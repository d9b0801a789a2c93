import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startGateway } from '../../src/gateway/index.js';
import { seedScenarios } from './scenarios.js';
import { deadPort, fakeClock, openSeedSluice, startUpstream } from './support.js';

seedScenarios('gateway', async (subject) => {
  const clock = fakeClock();
  const upstream = await startUpstream();
  const sluice = openSeedSluice(clock.now);
  const gw = await startGateway({ sluice, upstream: upstream.url, subject });
  return {
    url: gw.url,
    clock,
    hits: (p) => upstream.hits.get(p) ?? 0,
    close: async () => {
      await gw.close();
      await upstream.close();
    },
  };
});

describe('gateway: upstream failures', () => {
  const closers: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of closers) await c();
  });

  it('answers 502 with a JSON body when the upstream is down, and keeps serving', async () => {
    const gw = await startGateway({ policy: { rules: [{ name: 'all', limit: '1000/1m' }] }, upstream: `http://127.0.0.1:${await deadPort()}` });
    closers.push(() => gw.close());
    for (let i = 0; i < 3; i++) {
      const res = await request(`${gw.url}/anything`);
      expect(res.statusCode).toBe(502);
      const body = (await res.body.json()) as any;
      expect(body.error.code).toBe('upstream_unavailable');
      expect(res.headers['ratelimit-policy']).toContain('"all"');
    }
    // refunded: the upstream was never reached, so the caller's quota is intact
    expect((await request(`${gw.url}/x`)).headers['ratelimit']).toContain('"all";r=999');
  });

  it('answers 504 when the upstream is slower than the timeout; other requests are still served', async () => {
    const upstream = await startUpstream();
    closers.push(() => upstream.close());
    const gw = await startGateway({ policy: { rules: [{ name: 'all', limit: '1000/1m' }] }, upstream: upstream.url, upstreamTimeoutMs: 300 });
    closers.push(() => gw.close());
    const [slow, fast] = await Promise.all([request(`${gw.url}/slow`), request(`${gw.url}/fast`)]);
    expect(fast.statusCode).toBe(200);
    await fast.body.dump();
    expect(slow.statusCode).toBe(504);
    expect(((await slow.body.json()) as any).error.code).toBe('upstream_timeout');
    expect((await request(`${gw.url}/after`)).statusCode).toBe(200);
  });

  it('forwards method, path, query, body and X-Forwarded-For; strips hop-by-hop headers', async () => {
    let seen: { method?: string; url?: string; headers?: IncomingMessage['headers']; body?: string } = {};
    const up = createServer((req: IncomingMessage, res: ServerResponse) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen = { method: req.method, url: req.url, headers: req.headers, body };
        res.writeHead(201, { 'x-upstream': 'yes', 'content-type': 'text/plain' });
        res.end('created');
      });
    });
    await new Promise<void>((r) => up.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise((r) => up.close(() => r())));
    const gw = await startGateway({ policy: { rules: [{ name: 'all', limit: '10/1m' }] }, upstream: `http://127.0.0.1:${(up.address() as AddressInfo).port}/api` });
    closers.push(() => gw.close());
    const res = await request(`${gw.url}/v1/things?x=1`, { method: 'PUT', body: 'payload', headers: { 'x-forwarded-for': '9.9.9.9', 'proxy-authorization': 'secret', 'x-custom': 'v' } });
    expect(res.statusCode).toBe(201);
    expect(await res.body.text()).toBe('created');
    expect(res.headers['x-upstream']).toBe('yes');
    expect(res.headers['ratelimit']).toContain('"all";r=9');
    expect(seen).toMatchObject({ method: 'PUT', url: '/api/v1/things?x=1', body: 'payload' });
    expect(seen.headers?.['x-forwarded-for']).toBe('9.9.9.9, 127.0.0.1');
    expect(seen.headers?.['x-custom']).toBe('v');
    expect(seen.headers?.['proxy-authorization']).toBeUndefined();
  });
});
