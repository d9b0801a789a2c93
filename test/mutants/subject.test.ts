import { createHash, createHmac, generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { compileRoutes, compileSubject, headerOf, type SubjectConfig } from '../../src/http/subject.js';
import { ConfigError } from '../../src/policy/errors.js';
import type { CompiledRoute } from '../../src/policy/compiled.js';
import { errorOf, req, routeTable } from './http-support.js';

/** How a request becomes a subject: precedence, routes, API keys and JWTs at their edges. */

const b64 = (o: unknown) => Buffer.from(typeof o === 'string' ? o : JSON.stringify(o)).toString('base64url');
const SECRET = 'correct horse battery staple';
function hs256(payload: unknown, head: unknown = { alg: 'HS256', typ: 'JWT' }, secret = SECRET): string {
  const body = `${b64(head)}.${b64(payload)}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}

describe('the subject of a request', () => {
  it('method and path (without the query) always; the client IP in ip, or the configured attribute', () => {
    expect(compileSubject()(req({ method: 'POST', url: '/v1/x?y=1' }))).toEqual({ method: 'POST', path: '/v1/x', ip: '203.0.113.9' });
    expect(compileSubject({ ipAttribute: 'client' })(req({ url: '/a' }))).toEqual({ method: 'GET', path: '/a', client: '203.0.113.9' });
    expect(compileSubject()(req({ remoteAddress: undefined }))).toEqual({ method: 'GET', path: '/' });
    expect(compileSubject()(req({ url: '?q' })).path).toBe('');
  });

  it('precedence, lowest first: route set, static set, headers, API key, JWT claims', () => {
    const routes: CompiledRoute[] = [{ path: '/r', api: 'r-api', set: { tier: 'route', a: 'route', b: 'route', c: 'route', d: 'route' } }];
    const config: SubjectConfig = {
      set: { a: 'set', b: 'set', c: 'set', d: 'set' },
      headers: { 'X-B': 'b', 'x-c': 'c', 'x-d': 'd' },
      apiKeys: { keys: { k1: { c: 'key', d: 'key' } } },
      jwt: { claims: { d: 'd' }, secret: SECRET },
    };
    const s = compileSubject(config, routes)(req({ url: '/r', headers: { 'x-b': 'hdr', 'x-c': 'hdr', 'x-d': 'hdr', 'x-api-key': 'k1', authorization: `Bearer ${hs256({ d: 'jwt' })}` } }));
    expect(s).toMatchObject({ api: 'r-api', route: '/r', tier: 'route', a: 'set', b: 'hdr', c: 'key', d: 'jwt' });
  });

  it('an empty header value is absent; a repeated header is joined', () => {
    const derive = compileSubject({ headers: { 'x-account': 'account' } });
    expect(derive(req({ headers: { 'x-account': '' } })).account).toBeUndefined();
    expect(derive(req({ headers: { 'x-account': ['a', 'b'] } })).account).toBe('a, b');
    expect(derive(req({ headers: new Headers({ 'x-account': 'acme' }) })).account).toBe('acme');
    expect(derive(req({ headers: new Headers() })).account).toBeUndefined();
    expect(headerOf({ a: 'x' }, 'b')).toBeUndefined();
  });

  it('conflicting X-Forwarded-For lines are a 400 with their own code', () => {
    const derive = compileSubject({ trustedProxies: ['loopback'] });
    const e = errorOf(() => derive(req({ remoteAddress: '127.0.0.1', forwardedFor: ['198.51.100.1', '198.51.100.2'] })));
    expect([e.status, e.code, e.name]).toEqual([400, 'conflicting_forwarded_for', 'SubjectError']);
    expect(e.message).toMatch(/more than once/);
    expect(derive(req({ remoteAddress: '127.0.0.1', forwardedFor: ['198.51.100.1', '198.51.100.1'] })).ip).toBe('198.51.100.1');
    expect(compileSubject({ ipPrefix: { v4: 24 } })(req()).ip).toBe('203.0.113.0/24');
  });
});

describe('routes', () => {
  const table = routeTable;

  it('no routes: no table', () => {
    expect(compileRoutes([])).toBeUndefined();
  });

  it('literal paths match with or without a trailing slash, and only that path', () => {
    const t = table([{ path: '/v1/items', api: 'items' }, { path: '/v1/x.y', api: 'dot' }, { path: '/', api: 'root' }, { path: '/slash/', api: 'slash' }]);
    expect(t('GET', '/v1/items')).toEqual({ api: 'items', route: '/v1/items' });
    expect(t('GET', '/v1/items/')).toEqual({ api: 'items', route: '/v1/items' });
    expect(t('GET', '/v1/items/1')).toEqual({});
    expect(t('GET', '/v1/x.y')).toEqual({ api: 'dot', route: '/v1/x.y' });
    expect(t('GET', '/v1/xzy')).toEqual({});
    expect(t('GET', '/')).toEqual({ api: 'root', route: '/' });
    expect(t('GET', '/slash')).toEqual({ api: 'slash', route: '/slash/' });
  });

  it(':name captures one segment, decoded (kept as sent when the escape is broken); * at the end is the rest', () => {
    const t = table([{ path: '/v1/accounts/:account/files/:file', api: 'files' }, { path: '/static/*', api: 'static' }, { path: '/a*b', api: 'star-literal' }]);
    expect(t('GET', '/v1/accounts/acme/files/a%20b')).toEqual({ api: 'files', route: '/v1/accounts/:account/files/:file', account: 'acme', file: 'a b' });
    expect(t('GET', '/v1/accounts/acme/files/%E0%A4%A')).toMatchObject({ file: '%E0%A4%A' });
    expect(t('GET', '/v1/accounts/acme/files/')).toEqual({});
    expect(t('GET', '/v1/accounts/a/b/files/c')).toEqual({});
    expect(t('GET', 'x/v1/accounts/a/files/c')).toEqual({});
    expect(t('GET', '/v1/accounts/a/files/c/')).toMatchObject({ api: 'files', file: 'c' });
    expect(t('GET', '/static/css/site.css')).toEqual({ api: 'static', route: '/static/*' });
    expect(t('GET', '/static/')).toEqual({ api: 'static', route: '/static/*' });
    expect(t('GET', '/a*b')).toEqual({ api: 'star-literal', route: '/a*b' });
    expect(t('GET', '/axxb')).toEqual({});
  });

  it('methods restrict a route; the first matching route in policy order wins, static or not', () => {
    const t = table([
      { path: '/v1/:id', api: 'first', methods: new Set(['POST']) },
      { path: '/v1/me', api: 'me' },
      { path: '/v1/:id', api: 'any' },
      { path: '/v2/me', api: 'v2-get', methods: new Set(['GET']) },
      { path: '/v2/me', api: 'v2-all' },
      { path: '/v2/:id', api: 'v2-param' },
    ]);
    expect(t('POST', '/v1/me')).toMatchObject({ api: 'first', id: 'me' });
    expect(t('GET', '/v1/me')).toEqual({ api: 'me', route: '/v1/me' });
    expect(t('GET', '/v1/you')).toEqual({ api: 'any', route: '/v1/:id', id: 'you' });
    expect(t('GET', '/v2/me')).toEqual({ api: 'v2-get', route: '/v2/me' });
    expect(t('PUT', '/v2/me')).toEqual({ api: 'v2-all', route: '/v2/me' });
    expect(t('PUT', '/v2/x')).toMatchObject({ api: 'v2-param', id: 'x' });
  });

  it("a route's set is added after its captures", () => {
    const t = table([{ path: '/u/:plan', api: 'u', set: { plan: 'fixed', extra: 1 } }]);
    expect(t('GET', '/u/free')).toEqual({ api: 'u', route: '/u/:plan', plan: 'fixed', extra: 1 });
  });
});

describe('API keys', () => {
  const digest = createHash('sha256').update('k_hashed').digest('hex');
  const keys: Record<string, Record<string, string>> = { k_plain: { account: 'acme' }, [`sha256:${digest.toUpperCase()}`]: { account: 'globex', plan: 'pro' } };

  it('a plain key or a sha256: digest (any case) gives its attributes', () => {
    const derive = compileSubject({ apiKeys: { keys } });
    expect(derive(req({ headers: { 'x-api-key': 'k_plain' } })).account).toBe('acme');
    expect(derive(req({ headers: { 'x-api-key': 'k_hashed' } }))).toMatchObject({ account: 'globex', plan: 'pro' });
    // The digest itself is not a key.
    expect(errorOf(() => derive(req({ headers: { 'x-api-key': digest } }))).code).toBe('invalid_api_key');
    expect(errorOf(() => derive(req({ headers: { 'x-api-key': `sha256:${digest}` } }))).code).toBe('invalid_api_key');
  });

  it('an unknown key is always a 401; a missing one only when required, naming the header', () => {
    const optional = compileSubject({ apiKeys: { keys: { k: { account: 'a' } } } });
    expect(optional(req()).account).toBeUndefined();
    expect(optional(req({ headers: { 'x-api-key': '' } })).account).toBeUndefined();
    const bad = errorOf(() => optional(req({ headers: { 'x-api-key': 'nope' } })));
    expect([bad.status, bad.code, bad.message]).toEqual([401, 'invalid_api_key', 'The API key is not recognised.']);
    const required = compileSubject({ apiKeys: { header: 'X-Key', keys: { k: { account: 'a' } }, required: true } });
    const missing = errorOf(() => required(req()));
    expect([missing.status, missing.code, missing.message]).toEqual([401, 'api_key_required', 'An API key is required in the x-key header.']);
    expect(required(req({ headers: { 'x-key': 'k' } })).account).toBe('a');
  });

  it('in the authorization header, the key is the Bearer token (any case of "bearer"); another scheme is no key', () => {
    const derive = compileSubject({ apiKeys: { header: 'authorization', keys: { k: { account: 'a' } }, required: true } });
    expect(derive(req({ headers: { authorization: 'Bearer k' } })).account).toBe('a');
    expect(derive(req({ headers: { authorization: 'bearer   k ' } })).account).toBe('a');
    expect(errorOf(() => derive(req({ headers: { authorization: 'Basic k' } }))).code).toBe('api_key_required');
    expect(errorOf(() => derive(req({ headers: { authorization: 'Bearerk' } }))).code).toBe('api_key_required');
  });
});

describe('JWTs', () => {
  const T = 1_700_000_000_000;
  const clock = () => T;
  const jwt = (cfg: Partial<NonNullable<SubjectConfig['jwt']>> = {}) => compileSubject({ jwt: { claims: { sub: 'user', 'org.id': 'tenant' }, secret: SECRET, ...cfg } }, [], clock);
  const withToken = (token: string, header = 'authorization') => req({ headers: { [header]: header === 'authorization' ? `Bearer ${token}` : token } });
  const refusal = (derive: ReturnType<typeof jwt>, token: string) => errorOf(() => derive(withToken(token)));

  it('a valid HS256 token gives its claims, dotted claims reaching into objects; only scalar claims are kept', () => {
    const s = jwt({ claims: { sub: 'user', 'org.id': 'tenant', 'org.tags': 'tags', n: 'n', b: 'b', missing: 'm', 'sub.x': 'deep' } })(
      withToken(hs256({ sub: 'u1', org: { id: 't1', tags: ['a'] }, n: 0, b: false })),
    );
    expect(s).toMatchObject({ user: 'u1', tenant: 't1', n: 0, b: false });
    expect(s).not.toHaveProperty('tags');
    expect(s).not.toHaveProperty('m');
    expect(s).not.toHaveProperty('deep');
    expect(jwt({ claims: { 'a.b': 'x' } })(withToken(hs256({ a: null }))).x).toBeUndefined();
  });

  it('refuses a bad signature, another algorithm, a malformed payload, each with its reason', () => {
    const derive = jwt();
    const bad = refusal(derive, hs256({ sub: 'u' }, undefined, 'other secret'));
    expect([bad.status, bad.code, bad.message]).toEqual([401, 'invalid_token', 'The bearer token was refused: bad signature.']);
    const good = hs256({ sub: 'u' });
    expect(refusal(derive, `${good.slice(0, -2)}AA`).message).toMatch(/bad signature/);
    expect(refusal(derive, `${good.split('.').slice(0, 2).join('.')}.`).message).toMatch(/bad signature/);
    expect(refusal(derive, hs256({ sub: 'u' }, { alg: 'none' })).message).toBe('The bearer token was refused: algorithm none is not accepted (expected HS256).');
    expect(refusal(derive, hs256('not json', { alg: 'HS256' })).message).toBe('The bearer token was refused: malformed payload.');
    expect(refusal(derive, hs256('null', { alg: 'HS256' })).message).toMatch(/malformed payload/);
    expect(refusal(derive, hs256('7', { alg: 'HS256' })).message).toMatch(/malformed payload/);
  });

  it('exp and nbf hold with the leeway (default 30 s) to the millisecond', () => {
    const derive = jwt();
    const sec = T / 1000;
    expect(derive(withToken(hs256({ sub: 'u', exp: sec - 29 }))).user).toBe('u');
    expect(refusal(derive, hs256({ sub: 'u', exp: sec - 30 })).message).toMatch(/expired/);
    expect(derive(withToken(hs256({ sub: 'u', nbf: sec + 30 }))).user).toBe('u');
    expect(refusal(derive, hs256({ sub: 'u', nbf: sec + 31 })).message).toMatch(/not yet valid/);
    const strict = jwt({ leewaySeconds: 0 });
    expect(refusal(strict, hs256({ sub: 'u', exp: sec })).message).toMatch(/expired/);
    expect(strict(withToken(hs256({ sub: 'u', exp: sec + 0.001 }))).user).toBe('u');
    expect(strict(withToken(hs256({ sub: 'u', nbf: sec }))).user).toBe('u');
    expect(refusal(strict, hs256({ sub: 'u', nbf: sec + 0.001 })).message).toMatch(/not yet valid/);
    expect(strict(withToken(hs256({ sub: 'u', exp: 'never' }))).user).toBe('u');
  });

  it('issuer must be equal; audience equal or in the list', () => {
    const derive = jwt({ issuer: 'https://auth', audience: 'api' });
    expect(derive(withToken(hs256({ sub: 'u', iss: 'https://auth', aud: 'api' }))).user).toBe('u');
    expect(derive(withToken(hs256({ sub: 'u', iss: 'https://auth', aud: ['x', 'api'] }))).user).toBe('u');
    expect(refusal(derive, hs256({ sub: 'u', iss: 'https://other', aud: 'api' })).message).toMatch(/wrong issuer/);
    expect(refusal(derive, hs256({ sub: 'u', aud: 'api' })).message).toMatch(/wrong issuer/);
    expect(refusal(derive, hs256({ sub: 'u', iss: 'https://auth', aud: ['x'] })).message).toMatch(/wrong audience/);
    expect(refusal(derive, hs256({ sub: 'u', iss: 'https://auth', aud: 'apix' })).message).toMatch(/wrong audience/);
    expect(refusal(derive, hs256({ sub: 'u', iss: 'https://auth' })).message).toMatch(/wrong audience/);
  });

  it('no token or an opaque one passes without claims unless required; required names the header', () => {
    const optional = jwt();
    expect(optional(req()).user).toBeUndefined();
    expect(optional(withToken('opaque-token')).user).toBeUndefined();
    expect(optional(withToken('a.b.c')).user).toBeUndefined(); // "a" is no JSON header
    expect(optional(withToken(`${b64({ typ: 'JWT' })}.${b64({ sub: 'u' })}.x`)).user).toBeUndefined(); // a header without alg
    expect(optional(withToken(`${b64('null')}.${b64({ sub: 'u' })}.x`)).user).toBeUndefined();
    expect(optional(withToken(`${b64({ alg: 'HS256' })}==.${b64({ sub: 'u' })}.x`)).user).toBeUndefined(); // not base64url text
    expect(optional(req({ headers: { authorization: 'Basic abc' } })).user).toBeUndefined();
    const required = jwt({ required: true });
    const none = errorOf(() => required(req()));
    expect([none.status, none.code, none.message]).toEqual([401, 'token_required', 'A bearer token is required in the authorization header.']);
    expect(refusal(required, 'opaque-token').message).toBe('The bearer token was refused: not a JWT.');
    expect(required(withToken(hs256({ sub: 'u' }))).user).toBe('u');
  });

  it('a token in another header is the trimmed value, no Bearer prefix', () => {
    const derive = jwt({ header: 'X-Token', required: true });
    expect(derive(req({ headers: { 'x-token': `  ${hs256({ sub: 'u' })} ` } })).user).toBe('u');
    expect(errorOf(() => derive(req({ headers: { 'x-token': ' ' } }))).message).toBe('A bearer token is required in the x-token header.');
  });

  it('RS256 with a public key; the HS256 secret or an HS256 token is not accepted for it', () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const rs256 = (payload: unknown, head: unknown = { alg: 'RS256' }) => {
      const body = `${b64(head)}.${b64(payload)}`;
      return `${body}.${sign('RSA-SHA256', Buffer.from(body), privateKey).toString('base64url')}`;
    };
    const derive = compileSubject({ jwt: { claims: { sub: 'user' }, publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString() } }, [], clock);
    expect(derive(withToken(rs256({ sub: 'u' }))).user).toBe('u');
    expect(errorOf(() => derive(withToken(hs256({ sub: 'u' }, { alg: 'RS256' })))).message).toMatch(/bad signature/);
    expect(errorOf(() => derive(withToken(hs256({ sub: 'u' })))).message).toMatch(/algorithm HS256 is not accepted \(expected RS256\)/);
  });

  it('trustUnverified without a key takes the claims of any well-formed token, whatever its signature or alg', () => {
    const derive = compileSubject({ jwt: { claims: { sub: 'user' }, trustUnverified: true } }, [], clock);
    expect(derive(withToken(hs256({ sub: 'u' }, { alg: 'whatever' }, 'any'))).user).toBe('u');
    expect(errorOf(() => derive(withToken(hs256({ sub: 'u', exp: T / 1000 - 31 })))).message).toMatch(/expired/);
  });

  it('configuration errors: both keys, no key, a bad PEM', () => {
    expect(() => jwt({ publicKey: 'x' })).toThrow(new ConfigError('subject.jwt: give either secret (HS256) or publicKey (RS256), not both'));
    expect(() => compileSubject({ jwt: { claims: {} } })).toThrow(
      new ConfigError('subject.jwt: configure secret (HS256) or publicKey (RS256); set trustUnverified only when an earlier hop verifies tokens'),
    );
    expect(() => compileSubject({ jwt: { claims: {}, publicKey: 'not a pem' } })).toThrow(/^subject\.jwt\.public_key: not a PEM public key \(/);
    // An empty or short HS256 secret (from secret_env, or a library caller) is refused as the policy schema refuses one in the file.
    expect(() => compileSubject({ jwt: { claims: {}, secret: '' } })).toThrow(/^subject\.jwt: an HS256 secret needs at least 16 characters \(this one has 0\)/);
    expect(() => compileSubject({ jwt: { claims: {}, secret: 'k'.repeat(15) } })).toThrow(/at least 16 characters \(this one has 15\)/);
    expect(() => compileSubject({ jwt: { claims: {}, secret: 'k'.repeat(16) } })).not.toThrow();
  });
});
