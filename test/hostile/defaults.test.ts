import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { serve, type ServeHandle } from '../../src/server/serve.js';
import { TokenConfigError } from '../../src/server/tokens.js';
import { EXAMPLES, start, stopAll, TOKENS } from '../server/support.js';

/** Defaults safe to expose: loopback, the admin API apart, tokens checked at startup and before bodies, JSON for every error. */

const run = promisify(execFile);
const CLI = new URL('../../dist/cli.js', import.meta.url).pathname;
const quiet = { logger: pino({ level: 'silent' }), handleSignals: false, watch: false, processMetrics: false, port: 0 } as const;
const opened: ServeHandle[] = [];
afterAll(async () => {
  await Promise.all(opened.map((h) => h.close()));
  await stopAll();
});

/** Writes raw bytes to a port and returns everything the server sent before closing (or after waitMs). */
function raw(port: number, bytes: string, waitMs = 400): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    const s = connect(port, '127.0.0.1', () => s.write(bytes));
    s.on('data', (d) => (got += d));
    s.on('error', () => undefined);
    s.on('close', () => resolve(got));
    setTimeout(() => (s.destroy(), resolve(got)), waitMs);
  });
}

function jsonError(response: string): { status: number; code?: string; message?: string } {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1]);
  const body = response.slice(response.indexOf('\r\n\r\n') + 4);
  const parsed = JSON.parse(body) as { error: { code: string; message: string } };
  return { status, code: parsed.error.code, message: parsed.error.message };
}

describe('listening', () => {
  it('serve binds 127.0.0.1 unless told otherwise', async () => {
    const h = await serve({ ...quiet, config: EXAMPLES + 'picky-assist.yaml' });
    opened.push(h);
    expect(h.url).toBe(`http://127.0.0.1:${h.port}`);
    const { address } = await new Promise<AddressInfo>((resolve) => {
      const s = connect(h.port, '127.0.0.1', () => resolve({ address: s.remoteAddress!, family: 'IPv4', port: h.port }));
    });
    expect(address).toBe('127.0.0.1');
  });

  it('--admin-port: the admin API is on its own port, and the public port answers 404 for it', async () => {
    const h = await serve({ ...quiet, config: EXAMPLES + 'picky-assist.yaml', ...TOKENS, adminPort: 0 });
    opened.push(h);
    expect(h.adminPort).toBeGreaterThan(0);
    const auth = { authorization: `Bearer ${TOKENS.adminToken}` };
    const pub = await fetch(`${h.url}/v1/admin/policy`, { headers: auth });
    expect(pub.status).toBe(404);
    expect(((await pub.json()) as { error: { message: string } }).error.message).toMatch(/own port/);
    expect((await fetch(`${h.adminUrl}/v1/admin/policy`, { headers: auth })).status).toBe(200);
    const check = await fetch(`${h.url}/v1/check`, { method: 'POST', body: '{"subject":{"user":"u"}}', headers: { 'content-type': 'application/json' } });
    expect(check.status).toBe(200);
    expect((await fetch(`${h.adminUrl}/v1/check`, { method: 'POST', body: '{"subject":{}}', headers: { 'content-type': 'application/json' } })).status).toBe(404);
    // the route fastify matches decides, whatever the spelling of the path
    for (const path of ['/v1/%61dmin/policy', '/v1/admin/policy?x=1', '/v1/admin/attributes/tenant/acme']) {
      const r = await fetch(`${h.url}${path}`, { headers: auth });
      expect(r.status, path).toBe(404);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('not_found');
    }
  });
});

describe('tokens', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-tokens-'));
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it('identical admin and read tokens are refused at startup, before a port opens', async () => {
    await expect(serve({ ...quiet, config: EXAMPLES + 'picky-assist.yaml', adminToken: 'same-secret', readToken: 'same-secret' })).rejects.toThrow(TokenConfigError);
    await expect(serve({ ...quiet, config: EXAMPLES + 'picky-assist.yaml', adminToken: 'same-secret', readTokenFile: file('same', 'same-secret\n') })).rejects.toThrow(/same string/);
  });

  it('tokens from files (a trailing newline is not part of it); unreadable, empty or doubly given tokens are refused', async () => {
    const h = await serve({ ...quiet, config: EXAMPLES + 'picky-assist.yaml', adminTokenFile: file('admin', 'file-admin-token\n'), readTokenFile: file('read', 'file-read-token') });
    opened.push(h);
    const put = await fetch(`${h.url}/v1/admin/attributes/tenant/acme`, { method: 'PUT', body: '{"licensed_agents": 3}', headers: { 'content-type': 'application/json', authorization: 'Bearer file-admin-token' } });
    expect(put.status).toBe(200);
    expect((await fetch(`${h.url}/v1/admin/policy`, { headers: { authorization: 'Bearer file-read-token' } })).status).toBe(200);
    await expect(serve({ ...quiet, config: EXAMPLES + 'picky-assist.yaml', adminTokenFile: join(dir, 'missing') })).rejects.toThrow(/cannot read the admin token file .*ENOENT/);
    await expect(serve({ ...quiet, config: EXAMPLES + 'picky-assist.yaml', adminTokenFile: file('empty', '\n') })).rejects.toThrow(/is empty/);
    await expect(serve({ ...quiet, config: EXAMPLES + 'picky-assist.yaml', adminToken: 'x-secret', adminTokenFile: file('a2', 'y') })).rejects.toThrow(/not both/);
  });

  it.skipIf(!existsSync(CLI))('the CLI: one line on stderr and exit 2 for identical tokens; SLUICE_ADMIN_TOKEN_FILE is read', async () => {
    const err = await run(process.execPath, [CLI, 'serve', '--config', EXAMPLES + 'picky-assist.yaml', '--store', 'memory', '--port', '0', '--admin-token', 'same', '--read-token', 'same'], { timeout: 20_000 }).catch((e: { code: number; stderr: string }) => e);
    expect((err as { code: number }).code).toBe(2);
    expect((err as { stderr: string }).stderr.trim().split('\n')).toEqual(['sluice: the admin token and the read token are the same string; give the read-only token a different value']);
    const env = { ...process.env, SLUICE_ADMIN_TOKEN_FILE: file('env-admin', 'same'), SLUICE_READ_TOKEN: 'same' };
    const viaEnv = await run(process.execPath, [CLI, 'serve', '--config', EXAMPLES + 'picky-assist.yaml', '--store', 'memory', '--port', '0'], { timeout: 20_000, env }).catch((e: { code: number; stderr: string }) => e);
    expect((viaEnv as { code: number }).code).toBe(2);
  });
});

describe('before the body', () => {
  it('the admin API checks the token before reading the body: an unauthenticated 850 KB body that is not even JSON gets 401', async () => {
    const s = await start({ config: EXAMPLES + 'picky-assist.yaml', ...TOKENS });
    const junk = '{' + 'x'.repeat(850_000);
    for (const [method, path] of [['PUT', '/v1/admin/overrides'], ['POST', '/v1/admin/inspect'], ['POST', '/v1/admin/reset'], ['PUT', '/v1/admin/attributes/tenant/acme']]) {
      const r = await s.call(method, path, junk);
      expect(r.status, path).toBe(401);
      expect(r.body.error.code).toBe('unauthorized');
      const read = await s.call(method, path, junk, { authorization: `Bearer ${TOKENS.readToken}` });
      if (method === 'PUT' || path !== '/v1/admin/inspect') expect(read.status, path).toBe(403);
    }
    // with the token, the same body is parsed (and refused as JSON)
    expect((await s.call('POST', '/v1/admin/inspect', junk, { authorization: `Bearer ${TOKENS.adminToken}` })).body.error.code).toBe('invalid_json');
  });

  it('attribute values up to the documented 1,024 characters reach the route (no 414); longer ones get its 400', async () => {
    const s = await start({ config: EXAMPLES + 'picky-assist.yaml', ...TOKENS });
    const auth = { authorization: `Bearer ${TOKENS.adminToken}` };
    for (const value of ['x'.repeat(101), 'x'.repeat(1024), '€'.repeat(1024), '\u{1F600}'.repeat(512)]) {
      const r = await s.get(`/v1/admin/attributes/tenant/${encodeURIComponent(value)}`, auth);
      expect(r.status, `${value.length} chars`).toBe(200);
      expect(r.body.entity).toBe(`tenant:${value}`);
    }
    const long = await s.get(`/v1/admin/attributes/tenant/${'x'.repeat(1025)}`, auth);
    expect(long.status).toBe(400);
    expect(long.body.error.code).toBe('invalid_request');
    const huge = await s.get(`/v1/admin/attributes/tenant/${'x'.repeat(9300)}`, auth);
    expect(huge.status).toBe(414);
    expect(huge.body.error.code).toBe('uri_too_long');
  });
});

describe('the server’s own answers have JSON error bodies', () => {
  it.each([
    ['no Host on HTTP/1.1', 'POST /v1/check HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}', 400, 'missing_host'],
    ['an Expect other than 100-continue', 'POST /v1/check HTTP/1.1\r\nHost: x\r\nExpect: something-else\r\nContent-Length: 2\r\n\r\n{}', 417, 'expectation_failed'],
    ['headers too large', `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'headers_too_large'],
    ['a request line that is not HTTP', 'NOT HTTP\r\n\r\n', 400, 'bad_request'],
    ['a bad URL encoding in a path parameter', 'GET /v1/admin/attributes/tenant/%E0%A4%A HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'bad_url'],
  ])('%s → %s', async (_what, bytes, status, code) => {
    const s = await start({ config: EXAMPLES + 'picky-assist.yaml', ...TOKENS });
    const answer = jsonError(await raw(Number(new URL(s.url).port), bytes));
    expect(answer).toMatchObject({ status, code });
    expect(typeof answer.message).toBe('string');
  });

  it('408 for a request that does not arrive in time (node’s request timeout, through the same handler)', async () => {
    const { createServer } = await import('node:http');
    const { answerClientErrors, SERVER_OPTIONS } = await import('../../src/http/plain-server.js');
    const server = createServer({ ...SERVER_OPTIONS, requestTimeout: 200, headersTimeout: 200, connectionsCheckingInterval: 50 }, () => undefined); // waits for the body
    answerClientErrors(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const answer = await raw((server.address() as AddressInfo).port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{', 3000);
    server.close();
    expect(jsonError(answer)).toMatchObject({ status: 408, code: 'request_timeout' });
  });
});
