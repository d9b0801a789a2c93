/**
 * `sluice gateway` as an operator runs it, in a child process with a real signal: SIGHUP reloads
 * the policy file as it does `sluice serve`'s. A rule that keeps its name keeps its count (the
 * reload does not lift the limit mid-window); a broken file, or one whose `subject:` cannot work
 * here (an unset secret_env), is refused in one log line and the old policy keeps serving.
 * Before, SIGHUP's default action ended the gateway.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';

const CLI = new URL('../../dist/cli.js', import.meta.url).pathname;
const root = mkdtempSync(join(tmpdir(), 'sluice-gw-sighup-'));
const file = join(root, 'policy.yaml');
const children = new Set<ChildProcess>();
let upstream: Server;
let upstreamUrl = '';

beforeAll(async () => {
  upstream = createServer((_req, res) => res.end('upstream ok'));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await new Promise((r) => upstream.close(r));
  rmSync(root, { recursive: true, force: true });
});

const policy = (limit: string, message: string, subject = 'subject:\n  headers: { x-tenant-id: tenant }\n') =>
  `version: 1\n${subject}rules:\n  - name: per-tenant\n    key: [tenant]\n    limit: ${limit}\n    response: { status: 429, code: too_many, message: "${message}" }\n`;

async function get(url: string, tenant: string): Promise<{ status: number; text: string }> {
  const res = await request(`${url}/anything`, { headers: { 'x-tenant-id': tenant } });
  return { status: res.statusCode, text: await res.body.text() };
}

async function until(what: string, ms: number, check: () => boolean): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe.runIf(existsSync(CLI))('sluice gateway and SIGHUP (child process)', () => {
  it('reloads the policy on SIGHUP, keeps counts, refuses a broken file or subject in one line', async () => {
    writeFileSync(file, policy('2/1m', 'first wording'));
    const child = spawn(process.execPath, [CLI, 'gateway', '--config', file, '--upstream', upstreamUrl, '--port', '0'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, SLUICE_ADMIN_TOKEN: '', SLUICE_READ_TOKEN: '', SLUICE_TEST_UNSET_SECRET: '' },
    });
    children.add(child);
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => (children.delete(child), r(code))));
    await until('the startup line', 20_000, () => /"msg":"sluice gateway listening"/.test(err));
    const url = (JSON.parse(/^\{"msg":"sluice gateway listening".*\}$/m.exec(err)![0]) as { url: string }).url;
    const reloads = () => (err.match(/"msg":"policy reloaded"/g) ?? []).length;
    const refusals = () => err.split('\n').filter((l) => l.includes('reload refused'));

    expect((await get(url, 'acme')).status).toBe(200);
    expect((await get(url, 'acme')).status).toBe(200);
    expect(await get(url, 'acme')).toMatchObject({ status: 429, text: expect.stringContaining('first wording') });

    // The same limit, new wording: the reload is in force, and acme's two requests still count.
    writeFileSync(file, policy('2/1m', 'second wording'));
    child.kill('SIGHUP');
    await until('the first reload', 10_000, () => reloads() === 1);
    expect(await get(url, 'acme')).toMatchObject({ status: 429, text: expect.stringContaining('second wording') });

    // A higher limit: acme has used 2 of 3 in this window, so one more goes through.
    writeFileSync(file, policy('3/1m', 'third wording'));
    child.kill('SIGHUP');
    await until('the second reload', 10_000, () => reloads() === 2);
    expect((await get(url, 'acme')).status).toBe(200);
    expect(await get(url, 'acme')).toMatchObject({ status: 429, text: expect.stringContaining('third wording') });

    // A broken file: refused in one line naming the file and line; the 3/1m policy keeps serving.
    writeFileSync(file, policy('5/0s', 'broken'));
    child.kill('SIGHUP');
    await until('the refusal', 10_000, () => refusals().length === 1);
    const line = JSON.parse(refusals()[0]) as { msg: string; level: number };
    expect(line.msg).toMatch(/policy\.yaml:\d+/);
    expect(await get(url, 'acme')).toMatchObject({ status: 429, text: expect.stringContaining('third wording') });
    expect((await get(url, 'globex')).status).toBe(200);

    // A sound file whose subject cannot work here (its secret_env is unset): refused too, never a 500 per request.
    writeFileSync(file, policy('5/1m', 'jwt', 'subject:\n  jwt: { claims: { tenant_id: tenant }, secret_env: SLUICE_TEST_UNSET_SECRET }\n'));
    child.kill('SIGHUP');
    await until('the second refusal', 10_000, () => refusals().length === 2);
    expect(refusals()[1]).toContain('SLUICE_TEST_UNSET_SECRET');
    expect((await get(url, 'globex')).status).toBe(200);
    expect((await get(url, 'globex')).status).toBe(200); // its third of 3
    expect(await get(url, 'globex')).toMatchObject({ status: 429, text: expect.stringContaining('third wording') });

    expect(reloads()).toBe(2);
    expect(err).not.toMatch(/^\s+at /m); // no stack trace
    expect(child.exitCode).toBeNull();
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 60_000);
});

if (!existsSync(CLI)) console.warn('\n!! SKIPPED: gateway SIGHUP test — dist/cli.js is missing; run `npm run build` (npm test does)\n');
