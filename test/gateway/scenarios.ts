import { generateKeyPairSync, createHmac, sign } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import type { SubjectConfig } from '../../src/http/subject.js';
import { csv, multipart, subjectConfig } from './support.js';

export interface Target {
  url: string;
  clock: { now(): number; advance(ms: number): void };
  /** Requests that reached the upstream API (or the app's handler) at a path. */
  hits(path: string): number;
  close(): Promise<void>;
}

export type StartTarget = (subject: SubjectConfig) => Promise<Target>;

const FAMILY_MESSAGE = "You've exceeded the per-minute rate limit. Please wait for sometime before retrying.";
const AUDIO_MESSAGE = 'Too Many Requests: recording audio requests must not exceed one request per 3 seconds per tenant.';
const EGRESS_MESSAGE = 'Bandwidth Limit Exceeded: the 5-day rolling recording egress cap for the tenant has been reached. Contact Xima Support to review usage and request a reset.';

async function call(t: Target, method: string, path: string, headers: Record<string, string> = {}, body?: string | Buffer | AsyncIterable<Buffer>) {
  // undici accepts async iterables as bodies at run time; its types only list streams.
  const res = await request(t.url + path, { method: method as 'GET', headers, body: body as string | Buffer | undefined });
  const buf = Buffer.from(await res.body.arrayBuffer());
  let json: any;
  try {
    json = JSON.parse(buf.toString('utf8'));
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers, json, bytes: buf.length };
}

export function hs256(payload: Record<string, unknown>, secret: string): string {
  const head = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

/** Every seed example's scenarios, over HTTP, against a gateway or an app with a middleware. */
export function seedScenarios(label: string, start: StartTarget): void {
  describe(`${label}: seed scenarios over HTTP`, () => {
    let t: Target;
    const open = async (subject: SubjectConfig = subjectConfig) => {
      await t?.close();
      t = await start(subject);
      return t;
    };
    beforeEach(async () => {
      t = await start(subjectConfig);
    });
    afterEach(async () => {
      await t.close();
    });

    it('contact-center-ai: 60 requests per rolling minute across API families, with the exact message', async () => {
      const acct = { 'x-account-id': 'acct-1' };
      for (let i = 0; i < 60; i++) {
        const r = i % 2 ? await call(t, 'POST', '/v1/skills', { ...acct, 'content-type': 'application/json' }, '{}') : await call(t, 'GET', '/v1/agents', acct);
        expect(r.status).toBe(200);
        expect(r.headers['ratelimit-policy']).toContain('"account-per-minute";q=60;w=60');
        expect(r.headers['ratelimit']).toContain(`"account-per-minute";r=${59 - i}`);
      }
      const denied = await call(t, 'GET', '/v1/agents', acct);
      expect(denied.status).toBe(429);
      expect(denied.json.error).toMatchObject({ code: 'rate_limit_exceeded', message: FAMILY_MESSAGE, rule: 'account-per-minute' });
      expect(Number(denied.headers['retry-after'])).toBeGreaterThan(0);
      expect(denied.headers['ratelimit']).toContain('"account-per-minute";r=0');
      expect(t.hits('/v1/agents') + t.hits('/v1/skills')).toBe(60);
      expect((await call(t, 'GET', '/v1/agents', { 'x-account-id': 'acct-2' })).status).toBe(200);
      t.clock.advance(60_000);
      expect((await call(t, 'GET', '/v1/agents', acct)).status).toBe(200);
    });

    it('ccaas: one recording-audio request per 3 s per tenant; tenants independent', async () => {
      const acme = { 'x-api-key': 'key-acme-000001' };
      expect((await call(t, 'GET', '/v1/recordings/r1/audio', acme)).status).toBe(200);
      const denied = await call(t, 'GET', '/v1/recordings/r2/audio', acme);
      expect(denied.status).toBe(429);
      expect(denied.json.error).toMatchObject({ code: 'too_many_requests', message: AUDIO_MESSAGE, rule: 'recording-audio-per-tenant' });
      expect((await call(t, 'GET', '/v1/recordings/r3/audio', { 'x-api-key': 'key-small-00001' })).status).toBe(200);
      t.clock.advance(3_000);
      expect((await call(t, 'GET', '/v1/recordings/r2/audio', acme)).status).toBe(200);
      const unknown = await call(t, 'GET', '/v1/recordings/r2/audio', { 'x-api-key': 'not-a-known-key' });
      expect(unknown.status).toBe(401);
      expect(unknown.json.error.code).toBe('invalid_api_key');
    });

    it('ccaas: the 5-day egress cap meters real download bytes; a download started within the cap finishes, the next gets 509', async () => {
      const tiny = { 'x-api-key': 'key-tiny-000001' };
      const first = await call(t, 'GET', '/v1/recordings/a/audio', tiny);
      expect(first.status).toBe(200);
      expect(first.bytes).toBe(60_000);
      t.clock.advance(3_000);
      const second = await call(t, 'GET', '/v1/recordings/b/audio', tiny); // 60 KB used of 100 KB: starts, and finishes whole
      expect(second.status).toBe(200);
      expect(second.bytes).toBe(60_000);
      t.clock.advance(3_000);
      const capped = await call(t, 'GET', '/v1/recordings/c/audio', tiny);
      expect(capped.status).toBe(509);
      expect(capped.json.error).toMatchObject({ code: 'bandwidth_limit_exceeded', message: EGRESS_MESSAGE, rule: 'recording-egress-5d' });
      expect(t.hits('/v1/recordings/c/audio')).toBe(0);
      // another tenant is unaffected
      expect((await call(t, 'GET', '/v1/recordings/c/audio', { 'x-api-key': 'key-acme-000001' })).status).toBe(200);
    });

    it("picky-assist: the upstream's 401s on login count as failures and lock login; 200s do not", async () => {
      const json = { 'content-type': 'application/json' };
      for (let i = 0; i < 10; i++) expect((await call(t, 'POST', '/login', { ...json, 'x-user': 'bob' }, '{"password":"right"}')).status).toBe(200);
      let locked: Awaited<ReturnType<typeof call>> | undefined;
      let failures = 0;
      for (let i = 0; i < 6 && !locked; i++) {
        const r = await call(t, 'POST', '/login', { ...json, 'x-user': 'alice' }, '{"password":"wrong"}');
        if (r.status === 401) failures++;
        else locked = r;
      }
      expect(failures).toBeGreaterThan(3); // more than 3 failures are needed
      expect(locked?.status).toBe(429);
      expect(locked?.json.error).toMatchObject({ code: 'login_disabled', message: 'Too many unsuccessful login attempts. Login is disabled for 15 minutes.' });
      // the right password does not help while locked, and the app is not asked
      const before = t.hits('/login');
      expect((await call(t, 'POST', '/login', { ...json, 'x-user': 'alice' }, '{"password":"right"}')).status).toBe(429);
      expect(t.hits('/login')).toBe(before);
      expect((await call(t, 'POST', '/login', { ...json, 'x-user': 'bob' }, '{"password":"right"}')).status).toBe(200);
      t.clock.advance(15 * 60_000 + 1_000);
      expect((await call(t, 'POST', '/login', { ...json, 'x-user': 'alice' }, '{"password":"right"}')).status).toBe(200);
    });

    it('picky-assist: the smart-reply loop breaker drops (202, not processed, never an error)', async () => {
      const h = { 'x-contact': 'c1', 'x-question': 'q1', 'content-type': 'application/json' };
      for (let i = 0; i < 5; i++) expect((await call(t, 'POST', '/v1/smart-replies', h, '{}')).status).toBe(200);
      const dropped = await call(t, 'POST', '/v1/smart-replies', h, '{}');
      expect(dropped.status).toBe(202);
      expect(dropped.json).toMatchObject({ dropped: true, rule: 'smart-reply-loop-breaker' });
      expect(t.hits('/v1/smart-replies')).toBe(5);
    });

    it('picky-assist: 10,000 numbers per call pass; 10,001 are refused with 422 naming the path and cap', async () => {
      const h = { 'content-type': 'application/json', 'x-account-id': 'a' };
      const numbers = (n: number) => JSON.stringify({ message: 'hi', numbers: Array.from({ length: n }, (_, i) => 15550000000 + i), meta: { numbers: [1, 2] } });
      const ok = await call(t, 'POST', '/v1/messages', h, numbers(10_000));
      expect(ok.status).toBe(200);
      const over = await call(t, 'POST', '/v1/messages', h, numbers(10_001));
      expect(over.status).toBe(422);
      expect(over.json.error).toMatchObject({ code: 'too_many_items', cap: 'numbers-per-api-call', path: '$.numbers', limit: 10000 });
      expect(over.json.error.message).toContain('$.numbers');
      expect(over.json.error.message).toContain('10000');
      expect(t.hits('/v1/messages')).toBe(1);
      const records = JSON.stringify({ records: Array.from({ length: 2_001 }, (_, i) => ({ id: i, tags: ['a', 'b'], note: 'x],{"' })) });
      const mass = await call(t, 'POST', '/v1/contacts/mass-update', h, records);
      expect(mass.status).toBe(422);
      expect(mass.json.error).toMatchObject({ cap: 'mass-update-records', path: '$.records', limit: 2000 });
    });

    it('picky-assist: a body that breaks a cap after admission gives its charge back (90 pushes per minute still means 90 delivered)', async () => {
      const h = { 'content-type': 'application/json', 'x-account-id': 'refund-acct' };
      const body = (n: number) => JSON.stringify({ message: 'hi', numbers: Array.from({ length: n }, (_, i) => 15550000000 + i) });
      for (let i = 0; i < 89; i++) expect((await call(t, 'POST', '/v1/messages', h, body(1))).status).toBe(200);
      // Admitted and charged at the check, then refused mid-stream by the numbers cap: three times.
      for (let i = 0; i < 3; i++) expect((await call(t, 'POST', '/v1/messages', h, body(10_001))).status).toBe(422);
      const last = await call(t, 'POST', '/v1/messages', h, body(1));
      expect(last.status).toBe(200);
      expect(last.headers['ratelimit']).toContain('"push-per-minute";r=0');
      expect((await call(t, 'POST', '/v1/messages', h, body(1))).status).toBe(429);
      expect(t.hits('/v1/messages')).toBe(90);
    });

    it('picky-assist: a body over 10 MB is refused with 413, from Content-Length or while streaming', async () => {
      const big = Buffer.alloc(10_000_001, 0x61);
      const declared = await call(t, 'POST', '/v1/contacts/sheet', { 'content-type': 'application/octet-stream' }, big);
      expect(declared.status).toBe(413);
      expect(declared.json.error).toMatchObject({ code: 'payload_too_large', cap: 'contact-sheet-size', limit: 10_000_000 });
      expect(declared.json.error.message).toContain('10 MB');
      async function* chunks() {
        for (let i = 0; i < 12; i++) yield Buffer.alloc(1_000_000, 0x62);
      }
      const streamed = await call(t, 'POST', '/v1/contacts/sheet', { 'content-type': 'application/octet-stream' }, chunks());
      expect(streamed.status).toBe(413);
      expect(streamed.json.error.code).toBe('payload_too_large');
      expect((await call(t, 'POST', '/v1/contacts/sheet', { 'content-type': 'application/octet-stream' }, Buffer.alloc(1000))).status).toBe(200);
    });

    it('picky-assist: uploads — a 25 MB file cap (413) and 5,000 CSV rows (422)', async () => {
      const boundary = 'sluiceBoundary7MA4YWxk';
      const type = { 'content-type': `multipart/form-data; boundary=${boundary}` };
      const okRows = multipart(boundary, [{ name: 'note', data: 'hello' }, { name: 'sheet', filename: 'contacts.csv', type: 'text/csv', data: csv(5_000) }]);
      expect((await call(t, 'POST', '/v1/broadcasts/contacts', type, okRows)).status).toBe(200);
      const tooMany = multipart(boundary, [{ name: 'sheet', filename: 'contacts.csv', type: 'text/csv', data: csv(5_001) }]);
      const rows = await call(t, 'POST', '/v1/broadcasts/contacts', type, tooMany);
      expect(rows.status).toBe(422);
      expect(rows.json.error).toMatchObject({ code: 'too_many_rows', cap: 'broadcast-sheet-upload', limit: 5000 });
      const bigFile = multipart(boundary, [{ name: 'file', filename: 'attrs.bin', type: 'application/octet-stream', data: Buffer.alloc(25_000_001, 1) }]);
      const file = await call(t, 'POST', '/v1/attributes/file', type, bigFile);
      expect(file.status).toBe(413);
      expect(file.json.error).toMatchObject({ code: 'file_too_large', cap: 'attribute-file-size', limit: 25_000_000 });
      expect(t.hits('/v1/attributes/file')).toBe(0);
    });

    it('signup per IP: a spoofed X-Forwarded-For from an untrusted peer is ignored', async () => {
      for (let i = 0; i < 2; i++) expect((await call(t, 'POST', '/signup', { 'x-forwarded-for': `203.0.113.${i}` }, '')).status).toBe(200);
      const third = await call(t, 'POST', '/signup', { 'x-forwarded-for': '203.0.113.99' }, '');
      expect(third.status).toBe(429);
      expect(third.json.error.message).toBe('Only 2 signups are allowed from one IP address within 8 hours.');
    });

    it('signup per IP: X-Forwarded-For from a trusted proxy is honoured (IPv4 and IPv6 lists)', async () => {
      await open({ ...subjectConfig, trustedProxies: ['127.0.0.1/32', '::1/128', '10.0.0.0/8'] });
      for (let i = 0; i < 5; i++) expect((await call(t, 'POST', '/signup', { 'x-forwarded-for': `198.51.100.${i}, 10.1.2.3` }, '')).status).toBe(200);
      expect((await call(t, 'POST', '/signup', { 'x-forwarded-for': '2001:db8::7' }, '')).status).toBe(200);
      expect((await call(t, 'POST', '/signup', { 'x-forwarded-for': '2001:db8::7' }, '')).status).toBe(200);
      expect((await call(t, 'POST', '/signup', { 'x-forwarded-for': '1.1.1.1, 2001:db8::7' }, '')).status).toBe(429);
    });

    it('JWT claims give the subject; a bad signature is refused with 401 and never forwarded', async () => {
      const secret = 'a-test-secret-of-32-characters!!';
      await open({ jwt: { secret, claims: { sub: 'user', acct: 'account' } } });
      const good = hs256({ sub: 'u1', acct: 'jwt-acct', exp: Math.floor(t.clock.now() / 1000) + 600 }, secret);
      const r = await call(t, 'GET', '/v1/agents', { authorization: `Bearer ${good}` });
      expect(r.status).toBe(200);
      expect(r.headers['ratelimit']).toContain('"account-per-minute";r=59');
      const forged = hs256({ sub: 'u1', acct: 'someone-else' }, 'not-the-secret-at-all-0123456789');
      const bad = await call(t, 'GET', '/v1/agents', { authorization: `Bearer ${forged}` });
      expect(bad.status).toBe(401);
      expect(bad.json.error.code).toBe('invalid_token');
      const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"acct":"x"}').toString('base64url')}.`;
      expect((await call(t, 'GET', '/v1/agents', { authorization: `Bearer ${none}` })).status).toBe(401);
      const expired = hs256({ sub: 'u1', acct: 'jwt-acct', exp: Math.floor(t.clock.now() / 1000) - 3600 }, secret);
      expect((await call(t, 'GET', '/v1/agents', { authorization: `Bearer ${expired}` })).status).toBe(401);
      expect(t.hits('/v1/agents')).toBe(1);
    });

    it('RS256 tokens are verified with the configured public key', async () => {
      const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
      await open({ jwt: { publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(), claims: { acct: 'account' }, required: true } });
      const token = (key: typeof privateKey) => {
        const head = Buffer.from(JSON.stringify({ alg: 'RS256' })).toString('base64url');
        const body = Buffer.from(JSON.stringify({ acct: 'rs-acct' })).toString('base64url');
        return `${head}.${body}.${sign('RSA-SHA256', Buffer.from(`${head}.${body}`), key).toString('base64url')}`;
      };
      expect((await call(t, 'GET', '/v1/agents', { authorization: `Bearer ${token(privateKey)}` })).status).toBe(200);
      expect((await call(t, 'GET', '/v1/agents', { authorization: `Bearer ${token(other.privateKey)}` })).status).toBe(401);
      expect((await call(t, 'GET', '/v1/agents')).json.error.code).toBe('token_required');
    });
  });
}
