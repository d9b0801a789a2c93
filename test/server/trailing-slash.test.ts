import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, EXAMPLES, start, stopAll, TOKENS, type Service } from './support.js';

/**
 * One trailing slash is the same route on every path the service answers — fastify's routes
 * (admin, operations, dashboard) and the ones answered on the raw path before it (decisions,
 * Envoy's /json) — and a wrong method on it still gets the 405 with Allow; an unknown path the
 * 404 JSON body. Before, `GET /v1/admin/policy/` answered 405 "GET is not supported …; use GET".
 */

let svc: Service;
beforeAll(async () => {
  svc = await start({ config: `${EXAMPLES}ccaas-recordings.yaml`, envoyConfig: `${EXAMPLES}envoy/config.yaml`, ...TOKENS });
});
afterAll(stopAll);

describe('trailing slashes', () => {
  it('admin and operations routes: the same answer with or without the slash', async () => {
    const bare = await svc.get('/v1/admin/policy', ADMIN);
    const slash = await svc.get('/v1/admin/policy/', ADMIN);
    expect(bare.status).toBe(200);
    expect(slash.status).toBe(200);
    expect(slash.body).toEqual(bare.body);
    expect((await svc.get('/v1/admin/overrides/', ADMIN)).status).toBe(200);
    expect((await svc.get('/healthz/')).body).toEqual({ status: 'ok' });
    // Still behind the token.
    expect((await svc.get('/v1/admin/policy/')).status).toBe(401);
  });

  it('decision routes and Envoy’s /json, answered before fastify, take the slash too', async () => {
    const subject = { tenant: 'acme', api: 'Get Recording Audio' };
    const first = await svc.post('/v1/check/', { subject });
    expect(first.status).toBe(200);
    expect(first.body.allowed).toBe(true);
    const second = await svc.post('/v1/check', { subject });
    expect(second.status).toBe(429); // the slash charged the same rule and key
    expect((await svc.post('/v1/check/batch/', { checks: [{ subject: { tenant: 'globex', api: 'Get Recording Audio' } }] })).body.results).toHaveLength(1);
    const envoy = await svc.post('/json/', JSON.parse(readFileSync(`${EXAMPLES}envoy/request.json`, 'utf8')));
    expect(envoy.status).toBe(200);
    expect(envoy.body.overallCode).toBe('OK');
  });

  it('a wrong method on a slashed path is 405 with Allow; an unknown path 404, both JSON', async () => {
    const wrong = await svc.call('POST', '/v1/admin/policy/', {}, ADMIN);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET, HEAD');
    expect(wrong.body.error.code).toBe('method_not_allowed');
    const getCheck = await svc.get('/v1/check/');
    expect(getCheck.status).toBe(405);
    expect(getCheck.headers.get('allow')).toBe('POST');
    const unknown = await svc.get('/v1/admin/nothing/', ADMIN);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('not_found');
    // Two slashes are not one.
    expect((await svc.get('/v1/admin/policy//', ADMIN)).status).toBe(404);
  });
});
