import { request } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, EXAMPLES, start, stopAll, TOKENS, type Service } from './support.js';

/** Bad input gets a clear JSON error naming where it is wrong, and the service keeps serving. */
let s: Service;
beforeAll(async () => {
  s = await start({ config: EXAMPLES + 'picky-assist.yaml', ...TOKENS });
});
afterAll(stopAll);

const expectError = (r: { status: number; body: any; headers: Headers }, status: number, code: string) => {
  expect(r.status).toBe(status);
  expect(r.headers.get('content-type')).toMatch(/^application\/json/);
  expect(r.body.error.code).toBe(code);
  expect(typeof r.body.error.message).toBe('string');
};

describe('400: malformed JSON, wrong types, unknown or missing fields, with the JSON path', () => {
  it.each([
    ['{"subject": {"account": ', 'invalid_json', /not valid JSON/],
    ['', 'invalid_json', /empty/],
    ['[1,2]', 'invalid_request', /^\(body\): expected an object, got array$/],
    ['{"subject": {"account": {"id": 1}}}', 'invalid_request', /^subject\.account: expected string, number or boolean, got object$/],
    ['{"subject": {"account": null}}', 'invalid_request', /^subject\.account: expected string, number or boolean, got null$/],
    ['{"subject": {"a b": [1]}}', 'invalid_request', /^subject\["a b"\]: expected string, number or boolean/],
    ['{"subject": "acme"}', 'invalid_request', /^subject: expected an object, got string$/],
    ['{"cost": 1}', 'invalid_request', /^subject: required$/],
    ['{"subject": {}, "cost": "1"}', 'invalid_request', /^cost: expected a number, got string$/],
    ['{"subject": {}, "costs": 1}', 'invalid_request', /^costs: unknown field/],
  ])('POST /v1/check %s', async (body, code, message) => {
    const r = await s.post('/v1/check', body);
    expectError(r, 400, code);
    expect(r.body.error.message).toMatch(message);
  });

  it('names paths inside a batch and a record', async () => {
    const b = await s.post('/v1/check/batch', { checks: [{ subject: { a: 1 } }, { subject: { a: [] } }] });
    expectError(b, 400, 'invalid_request');
    expect(b.body.error.issues).toEqual([{ path: 'checks[1].subject.a', message: 'expected string, number or boolean, got array' }]);
    const r = await s.post('/v1/record', { subject: { user: 'u' }, outcome: { status: '401' } });
    expectError(r, 400, 'invalid_request');
    expect(r.body.error.message).toBe('outcome.status: expected an integer, got string');
    expect((await s.post('/v1/record', { subject: { user: 'u' }, outcome: { statuss: 401 } })).body.error.message).toMatch(/^outcome\.statuss: unknown field/);
    expect((await s.post('/v1/record', { subject: { user: 'u' } })).body.error.message).toBe('outcome: required');
  });

  it('admin bodies too', async () => {
    const r = await s.call('PUT', '/v1/admin/overrides', '{"rule": ', ADMIN);
    expectError(r, 400, 'invalid_json');
    const missing = await s.call('PUT', '/v1/admin/overrides', { key: {} }, ADMIN);
    expectError(missing, 400, 'invalid_request');
    expect(missing.body.error.issues).toEqual(expect.arrayContaining([{ path: 'rule', message: 'required' }, { path: 'limit', message: 'required' }]));
    expectError(await s.post('/v1/admin/inspect', { subject: { user: {} } }, ADMIN), 400, 'invalid_request');
  });
});

describe('422: well-formed values that make no sense', () => {
  it.each([
    [{ subject: { user: 'u' }, cost: -1 }, 'cost: must be a positive number (got -1)'],
    [{ subject: { user: 'u' }, cost: 0 }, 'cost: must be a positive number (got 0)'],
    [{ subject: { user: 'x'.repeat(2000) } }, 'subject.user: longer than 1024 characters'],
  ])('POST /v1/check %j', async (body, message) => {
    const r = await s.post('/v1/check', body);
    expectError(r, 422, 'unprocessable_entity');
    expect(r.body.error.message).toBe(message);
  });

  it('a cost too large to be a number (1e999 parses to Infinity)', async () => {
    const r = await s.call('POST', '/v1/check', '{"subject": {"user": "u"}, "cost": 1e999}');
    expectError(r, 422, 'unprocessable_entity');
    expect(r.body.error.message).toBe('cost: must be a finite number (got Infinity)');
    const neg = await s.call('POST', '/v1/check/batch', '{"checks": [{"subject": {"user": "u"}, "cost": -1e999}]}');
    expectError(neg, 422, 'unprocessable_entity');
    expect(neg.body.error.message).toBe('checks[0].cost: must be a positive number (got -Infinity)');
  });

  it('outcome values and batch size', async () => {
    expect((await s.post('/v1/record', { subject: { user: 'u' }, outcome: { bytes: -5 } })).body.error.message).toBe('outcome.bytes: must not be negative (got -5)');
    expect((await s.post('/v1/record', { subject: { user: 'u' }, outcome: { status: 99 } })).status).toBe(422);
    const big = await s.post('/v1/check/batch', { checks: Array.from({ length: 1001 }, () => ({ subject: { a: 1 } })) });
    expectError(big, 422, 'unprocessable_entity');
    expect(big.body.error.message).toBe('checks: at most 1000 checks per batch (got 1001)');
  });
});

describe('413, 415, 405, 404', () => {
  it('413 for a body over 1 MB, on the decision API and the admin API', async () => {
    const huge = JSON.stringify({ subject: { a: 'x'.repeat(1000) }, pad: 'y'.repeat(1_100_000) });
    expectError(await s.post('/v1/check', huge), 413, 'payload_too_large');
    expectError(await s.call('PUT', '/v1/admin/overrides', huge, ADMIN), 413, 'payload_too_large');
  });

  it('413 for a chunked body that grows past the limit (no content-length)', async () => {
    const port = new URL(s.url).port;
    const status = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/check', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      const chunk = 'x'.repeat(64 * 1024);
      let sent = 0;
      const pump = () => {
        while (sent < 40) {
          sent++;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    }).catch((e) => ({ status: -1, body: String(e) }));
    // The service answers 413 and closes; a client still writing may see the reset instead.
    if (status.status !== -1) {
      expect(status.status).toBe(413);
      expect(JSON.parse(status.body).error.code).toBe('payload_too_large');
    }
    expect((await s.post('/v1/check', { subject: { user: 'still-serving' } })).status).toBe(200);
  });

  it('415 for a body that is not JSON', async () => {
    expectError(await s.post('/v1/check', 'subject=1', { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'unsupported_media_type');
    expectError(await s.call('PUT', '/v1/admin/overrides', 'rule=x', { ...ADMIN, 'content-type': 'text/plain' }), 415, 'unsupported_media_type');
  });

  it('405 with Allow for a known path and the wrong method', async () => {
    const r = await s.get('/v1/check');
    expectError(r, 405, 'method_not_allowed');
    expect(r.headers.get('allow')).toBe('POST');
    const o = await s.call('POST', '/v1/admin/overrides', {}, ADMIN);
    expectError(o, 405, 'method_not_allowed');
    expect(o.headers.get('allow')).toBe('DELETE, GET, HEAD, PUT');
    expect((await s.call('DELETE', '/v1/admin/attributes/tenant/acme', undefined, ADMIN)).headers.get('allow')).toBe('GET, HEAD, PUT');
    expect((await s.call('POST', '/metrics')).status).toBe(405);
  });

  it('404 for an unknown path', async () => {
    const r = await s.get('/v2/check');
    expectError(r, 404, 'not_found');
    expect(r.body.error.message).toBe('no such endpoint: GET /v2/check (see /openapi.json)');
    expectError(await s.post('/v1/checks', { subject: {} }), 404, 'not_found');
  });

  it('query strings do not change the route', async () => {
    expect((await s.post('/v1/check?trace=1', { subject: { user: 'q' } })).status).toBe(200);
  });
});

it('answers a request HTTP cannot parse with 400 and a JSON error body', async () => {
  const port = Number(new URL(s.url).port);
  const raw = await new Promise<string>((resolve, reject) => {
    let got = '';
    const socket = connect(port, '127.0.0.1', () => socket.write('NOT HTTP AT ALL\r\n\r\n'));
    socket.on('data', (d) => (got += d));
    socket.on('end', () => resolve(got));
    socket.on('error', reject);
  });
  expect(raw).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
  const body = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4));
  expect(body.error.code).toBe('bad_request');
  expect((await s.get('/healthz')).status).toBe(200);
});

it('never crashes on garbage: random bodies, truncated requests, aborted connections', async () => {
  const samples = ['null', '1', '"x"', 'true', '{}', '{"subject":{}}', '{"subject":{"a":1e400}}', '{"__proto__":{"x":1},"subject":{}}', '{"subject":{"constructor":"x"}}', '\u0000\u0001', '{"checks":null}'];
  for (let i = 0; i < 60; i++) {
    const body = i < samples.length ? samples[i] : Array.from({ length: 1 + (i % 30) }, (_, j) => String.fromCharCode(32 + ((i * 7 + j * 13) % 90))).join('');
    for (const path of ['/v1/check', '/v1/record', '/v1/check/batch', '/v1/admin/inspect', '/v1/admin/reset']) {
      const r = await s.call(path.startsWith('/v1/admin') ? 'POST' : 'POST', path, body, ADMIN);
      expect(r.status, `${path} ${body}`).toBeLessThan(500);
      expect(r.body?.error?.code ?? r.body?.allowed ?? r.body?.rules, `${path} ${body}`).toBeDefined();
    }
  }
  // A client that sends half a body and goes away.
  const port = new URL(s.url).port;
  await new Promise<void>((resolve) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/check', headers: { 'content-type': 'application/json', 'content-length': '100' } });
    req.on('error', () => resolve());
    req.write('{"subject": {');
    setTimeout(() => {
      req.destroy();
      resolve();
    }, 20);
  });
  expect((await s.get('/healthz')).status).toBe(200);
});
