import fc from 'fast-check';

/**
 * Hostile requests for every route of the service and the gateway, as fast-check
 * arbitraries: invalid JSON, deep nesting, huge numbers, lone surrogates, prototype keys,
 * characters that mean something in keys (% | : = ,), values at and past 1,024
 * characters, wrong content types, bad or missing tokens, bad percent-encoding in paths.
 */

export interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

const SPECIALS = ['%', '|', ':', '=', ',', '\u0000', '\n', '\r', '"', '\\', '/', '?', '#', '*', '{', '}', '\u2028', '\uFEFF', '\ud800', '\udfff', '%00', '%ZZ', '..'];
const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'];
const ATTRS = ['account', 'user', 'ip', 'contact', 'question', 'api', 'tenant', 'event', 'connector', 'method', 'path', 'licensed_agents'];

/** Strings that break naive code: specials, lone surrogates (unit binary), boundary lengths. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.array(fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom(...SPECIALS), fc.string({ unit: 'binary', maxLength: 4 })), { maxLength: 6 }).map((p) => p.join('')) },
  { weight: 1, arbitrary: fc.constantFrom(1023, 1024, 1025, 5000).map((n) => 'x'.repeat(n)) },
  { weight: 1, arbitrary: fc.constantFrom(...PROTO_KEYS) },
);

const hugeNumber = fc.constantFrom(1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, -0, 5e-324, 2 ** 53, -(2 ** 63));
const scalar = fc.oneof(hostileString, fc.double(), fc.integer(), hugeNumber, fc.boolean(), fc.constant(null));
const name = fc.oneof(fc.constantFrom(...ATTRS), fc.constantFrom(...PROTO_KEYS), hostileString);
const value: fc.Arbitrary<unknown> = fc.oneof({ weight: 6, arbitrary: scalar }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) });
/** A subject that matches a rule of examples/picky-assist.yaml, with hostile key values: reaches the engine and the store. */
const ruleSubject = fc
  .record({
    match: fc.constantFrom({ api: 'Login' }, { api: 'Signup' }, { event: 'smart-reply' }, { event: 'offline-reply' }, { event: 'connector-inbound' }, { event: 'connector-outbound-http' }),
    user: hostileString,
    ip: hostileString,
    contact: hostileString,
    question: hostileString,
    connector: hostileString,
  })
  .map(({ match, ...keys }) => ({ ...keys, ...match }));
const subject = fc.oneof({ weight: 4, arbitrary: fc.dictionary(name, value, { maxKeys: 8 }) }, { weight: 4, arbitrary: ruleSubject }, { weight: 1, arbitrary: value });

/** A plausible body for each kind of route (then mangled by `asText`). */
const bodies: Record<string, fc.Arbitrary<unknown>> = {
  check: fc.record({ subject, cost: fc.option(scalar, { nil: undefined }) }, { requiredKeys: [] }),
  batch: fc.record({ checks: fc.oneof(fc.array(fc.record({ subject, cost: fc.option(scalar, { nil: undefined }) }, { requiredKeys: [] }), { maxLength: 20 }), value) }, { requiredKeys: [] }),
  record: fc.record({ subject, outcome: fc.oneof(fc.record({ status: scalar, bytes: scalar, success: scalar }, { requiredKeys: [] }), value) }, { requiredKeys: [] }),
  override: fc.record({ rule: fc.oneof(fc.constantFrom('login-lockout', 'signup-per-ip', 'push-per-minute'), hostileString), key: fc.oneof(fc.dictionary(name, scalar, { maxKeys: 3 }), value), limit: fc.oneof(fc.constantFrom('5/1m', '0/1s', '1e9/1d', '-1/1m', '1/0s'), hostileString), ttl: fc.option(fc.oneof(fc.constantFrom('1h', '0s', '-1d', '9999999d'), hostileString), { nil: undefined }), reason: fc.option(hostileString, { nil: undefined }) }, { requiredKeys: [] }),
  attributes: fc.dictionary(name, fc.oneof(fc.double(), hugeNumber, fc.constant(null), scalar), { maxKeys: 4 }),
  reset: fc.record({ subject, rules: fc.option(fc.oneof(fc.array(hostileString, { maxLength: 3 }), value), { nil: undefined }) }, { requiredKeys: [] }),
  envoy: fc.record({ domain: fc.oneof(fc.constantFrom('messaging'), hostileString), descriptors: fc.oneof(fc.array(fc.record({ entries: fc.array(fc.record({ key: fc.oneof(fc.constantFrom('to_number', 'message_type'), hostileString), value: fc.oneof(hostileString, scalar) }), { maxLength: 4 }), limit: fc.option(fc.record({ requests_per_unit: scalar, unit: fc.oneof(fc.constantFrom('SECOND', 'DAY'), scalar) }), { nil: undefined }), hits_addend: fc.option(scalar, { nil: undefined }) }, { requiredKeys: ['entries'] }), { maxLength: 4 }), value), hits_addend: fc.option(scalar, { nil: undefined }) }, { requiredKeys: [] }),
  any: value,
};

/** JSON text as sent: usually the body as is, sometimes broken on purpose. */
function asText(body: fc.Arbitrary<unknown>): fc.Arbitrary<string> {
  const json = body.map((b) => JSON.stringify(b) ?? 'null');
  return fc.oneof(
    { weight: 12, arbitrary: json },
    { weight: 1, arbitrary: fc.tuple(json, fc.nat()).map(([t, n]) => t.slice(0, n % (t.length + 1))) }, // truncated
    { weight: 1, arbitrary: fc.constantFrom(10, 1000, 100_000).map((d) => '['.repeat(d) + ']'.repeat(d)) }, // deep nesting
    { weight: 1, arbitrary: fc.constantFrom(10, 1000, 50_000).map((d) => `{"subject":${'{"a":'.repeat(d)}1${'}'.repeat(d)}}`) },
    { weight: 1, arbitrary: fc.constantFrom('1'.repeat(400), '1e999999', '-1e-999999', '0x10', 'NaN', 'Infinity', '{"cost":1e400,"subject":{}}', '{"subject":{"a":123456789012345678901234567890}}') },
    { weight: 1, arbitrary: fc.constantFrom('{"__proto__":{"admin":true},"subject":{}}', '{"subject":{"__proto__":{"x":1}}}', '{"constructor":{"prototype":{"x":1}},"subject":{}}', '{"subject":{},"subject":{"a":1}}') },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 64 }) }, // garbage, lone surrogates included
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('latin1')) },
    { weight: 1, arbitrary: fc.constant('') },
  );
}

const contentType = fc.oneof(
  { weight: 10, arbitrary: fc.constant('application/json') },
  { weight: 1, arbitrary: fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=utf-16', 'multipart/form-data; boundary=x', 'application/vnd.api+json', '', 'application/json;;;', '*/*', 'text/csv') },
);

export interface Tokens {
  admin: string;
  read: string;
}

function auth(tokens: Tokens): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.constant(`Bearer ${tokens.admin}`) },
    { weight: 1, arbitrary: fc.constant(`Bearer ${tokens.read}`) },
    { weight: 1, arbitrary: fc.constantFrom(undefined, 'Bearer', 'Bearer ', 'Basic YTpi', `bearer ${tokens.admin}`, `Bearer ${tokens.admin} extra`, 'Bearer \u00ff') },
  );
}

/** A path parameter as sent: encoded hostile text, or raw bad percent-encoding. */
const pathParam = fc.oneof(
  { weight: 6, arbitrary: hostileString.map((s) => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, '?')) || 'x') },
  { weight: 1, arbitrary: fc.constantFrom('%', '%E0%A4%A', '%FF', '%00', '..', '%2F', 'a%2Fb', 'x'.repeat(1025), '%C0%AF') },
);

/** Every route of the service with a body generator for it. */
export function serviceRequest(tokens: Tokens): fc.Arbitrary<FuzzRequest> {
  const withBody = (method: string, path: fc.Arbitrary<string>, body: fc.Arbitrary<unknown>, admin: boolean) =>
    fc.record({ path, text: asText(body), type: contentType, auth: admin ? auth(tokens) : fc.constant(undefined) }).map(({ path: p, text, type, auth: a }) => {
      const headers: Record<string, string> = {};
      if (type !== '') headers['content-type'] = type;
      if (a !== undefined) headers.authorization = a;
      return { method, path: p, headers, body: text };
    });
  const bodiless = (method: string, path: fc.Arbitrary<string>, admin: boolean) =>
    fc.record({ path, auth: admin ? auth(tokens) : fc.constant(undefined) }).map(({ path: p, auth: a }): FuzzRequest => ({ method, path: p, headers: a === undefined ? {} : { authorization: a } }));
  const at = (p: string) => fc.constant(p);
  const attrPath = fc.tuple(fc.oneof(fc.constantFrom('tenant', 'account'), pathParam), pathParam).map(([a, v]) => `/v1/admin/attributes/${a}/${v}`);
  return fc.oneof(
    { weight: 6, arbitrary: withBody('POST', at('/v1/check'), bodies.check, false) },
    { weight: 2, arbitrary: withBody('POST', at('/v1/check/batch'), bodies.batch, false) },
    { weight: 2, arbitrary: withBody('POST', at('/v1/record'), bodies.record, false) },
    { weight: 2, arbitrary: withBody('POST', at('/json'), bodies.envoy, false) },
    { weight: 2, arbitrary: withBody('PUT', at('/v1/admin/overrides'), bodies.override, true) },
    { weight: 1, arbitrary: withBody('DELETE', at('/v1/admin/overrides'), bodies.override, true) },
    { weight: 1, arbitrary: bodiless('GET', at('/v1/admin/overrides'), true) },
    { weight: 2, arbitrary: bodiless('GET', attrPath, true) },
    { weight: 2, arbitrary: withBody('PUT', attrPath, bodies.attributes, true) },
    { weight: 2, arbitrary: withBody('POST', at('/v1/admin/reset'), bodies.reset, true) },
    { weight: 2, arbitrary: withBody('POST', at('/v1/admin/inspect'), bodies.reset, true) },
    { weight: 1, arbitrary: bodiless('GET', at('/v1/admin/policy'), true) },
    { weight: 1, arbitrary: bodiless('GET', fc.constantFrom('/healthz', '/readyz', '/metrics', '/openapi.json', '/', '/v1', '/v1/admin', '/v1/check?x=%ZZ', '/%', '/v1/../v1/check'), false) },
    { weight: 1, arbitrary: withBody('POST', fc.constantFrom('/healthz', '/metrics', '/v1/admin/policy', '/nope', '/v1/check/', '/V1/CHECK'), bodies.any, true) },
    { weight: 1, arbitrary: fc.record({ m: fc.constantFrom('PATCH', 'OPTIONS', 'HEAD', 'TRACE', 'PROPFIND', 'GET', 'DELETE'), p: fc.constantFrom('/v1/check', '/v1/record', '/json', '/v1/admin/reset', '/v1/admin/overrides') }).map(({ m, p }) => ({ method: m, path: p, headers: { authorization: `Bearer ${tokens.admin}` } })) },
  );
}

/** Requests for the gateway: its route table's paths with hostile headers (identity, forwarding) and bodies (JSON caps, CSV, multipart). */
export function gatewayRequest(): fc.Arbitrary<FuzzRequest> {
  const path = fc.oneof(
    fc.constantFrom('/v1/agents', '/v1/skills', '/login', '/signup', '/v1/messages', '/v1/contacts/mass-update', '/v1/contacts/sheet', '/v1/broadcasts/contacts', '/v1/attributes/file', '/v1/smart-replies', '/anything/else'),
    pathParam.map((p) => `/v1/recordings/${p}/audio`),
  );
  const headerValue = fc.oneof(hostileString.map((s) => s.replace(/[^\t\x20-\x7e\x80-\xff]/g, '')), fc.constantFrom('key-acme-000001', 'key-small-00001', '1.2.3.4, 10.0.0.1', '::ffff:1.2.3.4', '2001:DB8::1', 'garbage, ,, ', 'Bearer a.b.c', 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.'));
  const headers = fc.dictionary(fc.constantFrom('x-api-key', 'x-account-id', 'x-user', 'x-contact', 'x-question', 'x-forwarded-for', 'authorization', 'content-type', 'x-custom'), headerValue, { maxKeys: 5 });
  const body = fc.oneof(
    asText(fc.oneof(fc.record({ records: fc.array(value, { maxLength: 50 }) }), fc.record({ numbers: fc.array(scalar, { maxLength: 50 }), contacts: fc.array(value, { maxLength: 10 }) }), value)),
    fc.array(fc.array(hostileString, { maxLength: 4 }).map((r) => r.join(',')), { maxLength: 40 }).map((rows) => rows.join('\n')),
    fc.constant('--x\r\nContent-Disposition: form-data; name="f"; filename="a.csv"\r\nContent-Type: text/csv\r\n\r\na,b\n1,2\r\n--x--\r\n'),
    fc.constant('--x\r\nContent-Disposition: form-data; name="f"'),
  );
  return fc.record({ method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'), path, headers, body }).map((r) => ({
    method: r.method,
    path: r.path,
    headers: r.headers,
    body: r.method === 'GET' ? undefined : r.body,
  }));
}
