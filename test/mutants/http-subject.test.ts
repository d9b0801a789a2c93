import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { compileSubject, routingPath } from '../../src/http/subject.js';
import { errorOf, req, routeTable } from './http-support.js';

/** Subject edges the older mutant tests left open: repeated identity headers, the routing path, route case and HEAD. */
describe('identity headers sent more than once', () => {
  const derive = compileSubject({ headers: { 'X-Account': 'account' } });

  it('are a 400 naming the header and the attribute (node joined "acme, globex": a bucket of its own)', () => {
    const e = errorOf(() => derive(req({ headers: { 'x-account': 'acme, globex' }, rawHeaders: ['X-Account', 'acme', 'Host', 'h', 'x-account', 'globex'] })));
    expect([e.status, e.code, e.name]).toEqual([400, 'repeated_header', 'SubjectError']);
    expect(e.message).toBe('header x-account was sent more than once; it names the account limits are kept for, so send it once');
  });

  it('one line holding a comma is one value', () => {
    expect(derive(req({ headers: { 'x-account': 'a,b' }, rawHeaders: ['X-Account', 'a,b'] })).account).toBe('a,b');
    // A header value that happens to spell the header's name is not a header line.
    expect(derive(req({ headers: { 'x-account': 'a,b', 'x-other': 'x-account' }, rawHeaders: ['X-Account', 'a,b', 'X-Other', 'x-account'] })).account).toBe('a,b');
    // A name of the same length that differs is another header.
    expect(derive(req({ headers: { 'x-account': 'a,b' }, rawHeaders: ['X-Account', 'a,b', 'X-Acc0unt', 'c'] })).account).toBe('a,b');
    // A longer or shorter name is another header.
    expect(derive(req({ headers: { 'x-account': 'a,b' }, rawHeaders: ['X-Account', 'a,b', 'X-Accounts', 'c', 'X-Accoun', 'd'] })).account).toBe('a,b');
    // Without raw lines (a Fetch front door) the joined value is all there is.
    expect(derive(req({ headers: { 'x-account': 'acme, globex' } })).account).toBe('acme, globex');
  });

  it('a header node keeps once (it drops the later lines) is the first line, as the upstream reads it', () => {
    const agent = compileSubject({ headers: { 'user-agent': 'agent' } });
    expect(agent(req({ headers: { 'user-agent': 'a' }, rawHeaders: ['User-Agent', 'a', 'User-Agent', 'b'] })).agent).toBe('a');
  });
});

describe('a header attribute', () => {
  it('is absent, not undefined, when the header is missing or empty', () => {
    const derive = compileSubject({ headers: { 'x-account': 'account' } });
    expect(Object.keys(derive(req({ remoteAddress: undefined })))).toEqual(['method', 'path']);
    expect(Object.keys(derive(req({ remoteAddress: undefined, headers: { 'x-account': '' } })))).toEqual(['method', 'path']);
  });
});

describe('an API key in the authorization header', () => {
  it('is only a token that starts with "Bearer ": "Basic bearer k" holds no key', () => {
    const derive = compileSubject({ apiKeys: { header: 'authorization', keys: { k: { account: 'a' } }, required: true } });
    expect(errorOf(() => derive(req({ headers: { authorization: 'Basic bearer k' } }))).code).toBe('api_key_required');
    expect(derive(req({ headers: { authorization: 'BEARER\tk' } })).account).toBe('a');
  });
});

describe('the client IP attribute', () => {
  it('is absent, not undefined, when the peer is unknown', () => {
    expect(Object.keys(compileSubject()(req({ remoteAddress: undefined })))).toEqual(['method', 'path']);
    expect(Object.keys(compileSubject()(req({ remoteAddress: 'junk' })))).toEqual(['method', 'path']);
  });
});

describe('the routing path', () => {
  it('ends at ? or #, whichever comes first', () => {
    expect(routingPath('/a#frag?x')).toBe('/a');
    expect(routingPath('/a?x#frag')).toBe('/a');
    expect(routingPath('/a')).toBe('/a');
    expect(routingPath('#')).toBe('');
  });

  it('decodes escapes segment by segment, but for / and % (kept escaped); a broken escape is kept as sent', () => {
    expect(routingPath('/pa/%6Cogin')).toBe('/pa/login');
    expect(routingPath('/a%2Fb/c')).toBe('/a%2Fb/c');
    expect(routingPath('/a%2fb')).toBe('/a%2Fb');
    expect(routingPath('/a%25b')).toBe('/a%25b');
    expect(routingPath('/a%252F')).toBe('/a%252F');
    expect(routingPath('/a%ZZ/%6C')).toBe('/a%ZZ/l');
    expect(routingPath('%70a/login')).toBe('pa/login');
    expect(routingPath('/%E2%82%AC?q=%41')).toBe('/€');
  });

  it('is what the routes are matched on: an escaped letter cannot dodge a route', () => {
    const derive = compileSubject({}, [{ path: '/pa/login', api: 'login', methods: new Set(['POST']) }]);
    expect(derive(req({ method: 'POST', url: '/pa/%6cogin?x=1' }))).toMatchObject({ api: 'login', route: '/pa/login' });
    expect(derive(req({ method: 'POST', url: '/pa/login#x' }))).toMatchObject({ api: 'login' });
  });
});

describe('routes', () => {

  it('literal segments match in any case, static or in a pattern; parameters keep the case sent', () => {
    const t = routeTable([{ path: '/v1/Items', api: 'items' }, { path: '/v1/Accounts/:id', api: 'account' }]);
    expect(t('GET', '/V1/ITEMS')).toEqual({ api: 'items', route: '/v1/Items' });
    expect(t('GET', '/v1/items/')).toEqual({ api: 'items', route: '/v1/Items' });
    expect(t('GET', '/V1/ACCOUNTS/AcMe')).toEqual({ api: 'account', route: '/v1/Accounts/:id', id: 'AcMe' });
  });

  it('a GET route matches HEAD; a route for other methods does not', () => {
    const t = routeTable([{ path: '/login', api: 'login', methods: new Set(['POST']) }, { path: '/page', api: 'page', methods: new Set(['GET']) }, { path: '/u/:id', api: 'u', methods: new Set(['GET']) }]);
    expect(t('HEAD', '/page')).toEqual({ api: 'page', route: '/page' });
    expect(t('HEAD', '/u/7')).toEqual({ api: 'u', route: '/u/:id', id: '7' });
    expect(t('HEAD', '/login')).toEqual({});
    expect(t('POST', '/page')).toEqual({});
    expect(t('GET', '/login')).toEqual({});
  });

  it('a pattern matches the whole path (one optional trailing slash), never a prefix of it', () => {
    const t = routeTable([{ path: '/u/:id', api: 'u' }, { path: '/slash/', api: 'slash' }]);
    expect(t('GET', '/u/7/')).toEqual({ api: 'u', route: '/u/:id', id: '7' });
    expect(t('GET', '/u/7/x')).toEqual({});
    expect(t('GET', '/u/7//')).toEqual({});
    expect(t('GET', '/slash//')).toEqual({});
  });

  it('a path spelled like a pattern is that pattern with the spelling as the value', () => {
    expect(routeTable([{ path: '/v1/:id', api: 'p' }])('GET', '/v1/:id')).toEqual({ api: 'p', route: '/v1/:id', id: ':id' });
  });

  it('regex characters in a literal segment are literal', () => {
    const t = routeTable([{ path: '/a+b/(c)/d?/e|f/$g^/[h]/{i}/j\\k', api: 'lit' }]);
    expect(t('GET', '/a+b/(c)/d?/e|f/$g^/[h]/{i}/j\\k')).toEqual({ api: 'lit', route: '/a+b/(c)/d?/e|f/$g^/[h]/{i}/j\\k' });
    const p = routeTable([{ path: '/a+b/:x', api: 'p' }, { path: '/(c)/:x', api: 'q' }, { path: '/d?/:x', api: 'r' }]);
    expect(p('GET', '/a+b/1')).toMatchObject({ api: 'p', x: '1' });
    expect(p('GET', '/aab/1')).toEqual({});
    expect(p('GET', '/(c)/1')).toMatchObject({ api: 'q' });
    expect(p('GET', '/c/1')).toEqual({});
    expect(p('GET', '/d?/1')).toMatchObject({ api: 'r' });
    expect(p('GET', '/d/1')).toEqual({});
  });
});

describe('JWT edges', () => {
  const SECRET = 'correct horse battery staple';
  const T = 1_700_000_000_000;
  const b64 = (o: unknown) => Buffer.from(typeof o === 'string' ? o : JSON.stringify(o)).toString('base64url');
  const hs256 = (payload: unknown, head: unknown = { alg: 'HS256' }) => {
    const body = `${b64(head)}.${b64(payload)}`;
    return `${body}.${createHmac('sha256', SECRET).update(body).digest('base64url')}`;
  };
  const jwt = (over: Record<string, unknown> = {}) => compileSubject({ jwt: { claims: { sub: 'user' }, secret: SECRET, ...over } }, [], () => T);
  const bearerReq = (token: string) => req({ headers: { authorization: `Bearer ${token}` } });

  it('a token in another header that is missing: no claims, or 401 when required (not a crash)', () => {
    expect(jwt({ header: 'x-token' })(req()).user).toBeUndefined();
    const e = errorOf(() => jwt({ header: 'x-token', required: true })(req()));
    expect([e.status, e.code]).toEqual([401, 'token_required']);
  });

  it('only three dot-separated parts make a JWT; two or four are an opaque token', () => {
    const two = `${b64({ alg: 'HS256' })}.${b64({ sub: 'u' })}`;
    const four = `${hs256({ sub: 'u' })}.x`;
    expect(jwt()(bearerReq(two)).user).toBeUndefined();
    expect(jwt()(bearerReq(four)).user).toBeUndefined();
    expect(errorOf(() => jwt({ required: true })(bearerReq(two))).message).toBe('The bearer token was refused: not a JWT.');
  });

  it('a header part with a character outside base64url at its start is no JWT header', () => {
    expect(jwt()(bearerReq(`!${hs256({ sub: 'u' })}`)).user).toBeUndefined();
  });

  it('issuer and audience are checked only when configured', () => {
    expect(jwt()(bearerReq(hs256({ sub: 'u', iss: 'anyone', aud: 'anything' }))).user).toBe('u');
  });

  it('an exp or nbf that is not a number is no date (null, a string): not refused on it', () => {
    expect(jwt()(bearerReq(hs256({ sub: 'u', exp: null }))).user).toBe('u');
    expect(jwt()(bearerReq(hs256({ sub: 'u', nbf: String(T / 1000 + 3600) }))).user).toBe('u');
  });
});
