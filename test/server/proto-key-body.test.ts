import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../src/gateway/index.js';
import { createAdminApi } from '../../src/server/index.js';
import { parseJsonBody } from '../../src/server/json-body.js';
import { BodyError } from '../../src/server/validate.js';
import { startUpstream, type Upstream } from '../gateway/support.js';
import { ADMIN, ONE_RULE_POLICY, start, stopAll, TOKENS, type Service } from './support.js';

/**
 * An admin API body with a "__proto__" key (or constructor.prototype) is refused with a 400
 * that says what and where, in the shape of every other validation error — not fastify's
 * "Body is not valid JSON", which is true of no JSON. The same on the service and the gateway.
 */

let service: Service;
let upstream: Upstream;
let gateway: Gateway;
beforeAll(async () => {
  service = await start({ policy: ONE_RULE_POLICY, ...TOKENS });
  upstream = await startUpstream();
  gateway = await startGateway({ policy: ONE_RULE_POLICY, upstream: upstream.url, admin: { api: (sluice) => createAdminApi({ sluice, log: pino({ level: 'silent' }), adminToken: TOKENS.adminToken }) } });
});
afterAll(async () => {
  await Promise.all([stopAll(), gateway.close(0), upstream.close()]);
});

const cases: [string, string, string][] = [
  ['at the top', '{"__proto__":{"polluted":true}}', '__proto__'],
  ['nested in an array', '{"a":{"b":[1,{"__proto__":1}]}}', 'a.b[1].__proto__'],
  ['written with an escape', '{"x":{"\\u005f_proto__":{"polluted":true}}}', 'x.__proto__'],
  ['constructor.prototype', '{"licensed_agents":1,"constructor":{"prototype":{"polluted":true}}}', 'constructor'],
];

describe('a "__proto__" key in an admin body', () => {
  const doors: [string, () => string][] = [
    ['service', () => service.url],
    ['gateway (shared port)', () => gateway.url],
  ];
  describe.each(doors)('%s', (_door, base) => {
    it.each(cases)('%s → 400 invalid_request naming its path', async (_name, body, path) => {
      const r = await fetch(`${base()}/v1/admin/attributes/tenant/acme`, { method: 'PUT', headers: { ...ADMIN, 'content-type': 'application/json' }, body });
      expect(r.status).toBe(400);
      expect(r.headers.get('content-type')).toMatch(/^application\/json/);
      const json = (await r.json()) as { error: { code: string; message: string; path: string; issues: { path: string; message: string }[] } };
      expect(json.error).toMatchObject({ code: 'invalid_request', path, issues: [{ path, message: expect.stringMatching(/not accepted/) }] });
      expect(json.error.message).toBe(`${path}: ${json.error.issues[0].message}`);
      expect(json.error.message).not.toMatch(/not valid JSON/);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  });

  it('bad JSON and an empty body keep their own answers', async () => {
    const bad = await service.call('PUT', '/v1/admin/attributes/tenant/acme', '{"licensed_agents": ', ADMIN);
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_json');
    expect(bad.body.error.message).toMatch(/^the body is not valid JSON: /);
    const empty = await fetch(`${service.url}/v1/admin/attributes/tenant/acme`, { method: 'PUT', headers: { ...ADMIN, 'content-type': 'application/json' }, body: '' });
    expect(empty.status).toBe(400);
    expect(((await empty.json()) as { error: { code: string } }).error.code).toBe('invalid_json');
  });

  it('a sound body with such words in values, or escapes, is read as before', async () => {
    const ok = await service.call('PUT', '/v1/admin/attributes/tenant/acme', '{"licensed_agents": 4, "note": "\\u0041 constructor __proto__"}', ADMIN);
    expect(ok.status).not.toBe(500);
    expect(ok.body.error?.message ?? '').not.toMatch(/not accepted/);
    expect(parseJsonBody('{"a":{"constructor":"x"},"b":"__proto__"}')).toEqual({ a: { constructor: 'x' }, b: '__proto__' });
  });

  it('a deeply nested body is walked without recursion', () => {
    const depth = 200_000;
    const text = `{"k":"\\u0041","v":${'['.repeat(depth)}{"__proto__":1}${']'.repeat(depth)}}`;
    let caught: unknown;
    try {
      parseJsonBody(text);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(BodyError);
    expect((caught as BodyError).issues[0].path).toBe(`v${'[0]'.repeat(depth)}.__proto__`);
  });
});

describe('a body that is not JSON on the admin API', () => {
  it('is a 415 naming the content type it came as (curl -d sends a form), as the decision API says it', async () => {
    const r = await fetch(`${service.url}/v1/admin/overrides`, { method: 'PUT', headers: { ...ADMIN, 'content-type': 'application/x-www-form-urlencoded' }, body: '{"rule":"x"}' });
    expect(r.status).toBe(415);
    expect(((await r.json()) as { error: { message: string } }).error.message).toBe('send the body as application/json (got application/x-www-form-urlencoded)');
  });
});
