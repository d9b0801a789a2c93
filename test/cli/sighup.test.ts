/**
 * `sluice serve` as an operator runs it, in a child process: SIGHUP reloads the policy file
 * (a broken one is refused and the old policy keeps serving), and a broken policy stops
 * startup before any port opens. The policy is a symlink into another folder, as Kubernetes
 * mounts a ConfigMap, so the file watcher does not see the edit and only SIGHUP can reload it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { freePort } from '../helpers/redis-server.js';

const CLI = new URL('../../dist/cli.js', import.meta.url).pathname;
const root = mkdtempSync(join(tmpdir(), 'sluice-sighup-'));
const children = new Set<ChildProcess>();
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

const policy = (limit: string) => `version: 1\nrules:\n  - { name: per-tenant, key: [tenant], limit: ${limit} }\n`;

function serve(config: string, port: number): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, 'serve', '--config', config, '--store', 'memory', '--port', String(port), '--log-level', 'info'], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => (children.delete(child), r(code))));
  return { child, output: () => out, exited };
}

async function until(what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function check(port: number, tenant: string): Promise<number> {
  const res = await request(`http://127.0.0.1:${port}/v1/check`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ subject: { tenant } }) });
  await res.body.dump();
  return res.statusCode;
}

describe.runIf(existsSync(CLI))('sluice serve and signals (child process)', () => {
  it('SIGHUP reloads the policy; a broken file is refused and the old policy keeps serving', async () => {
    const dir = join(root, 'hup');
    mkdirSync(join(dir, 'data'), { recursive: true });
    const target = join(dir, 'data', 'policy.yaml');
    writeFileSync(target, policy('1/1m'));
    const link = join(dir, 'policy.yaml');
    symlinkSync(target, link);
    const port = await freePort();
    const s = serve(link, port);
    await until('the service to answer', 20_000, async () => (await request(`http://127.0.0.1:${port}/healthz`)).statusCode === 200);

    expect(await check(port, 'acme')).toBe(200);
    expect(await check(port, 'acme')).toBe(429);

    writeFileSync(target, policy('5/1m'));
    await new Promise((r) => setTimeout(r, 400)); // a watcher would have reloaded by now; none sees this edit
    expect(await check(port, 'acme')).toBe(429);

    s.child.kill('SIGHUP');
    await until('the reloaded limit', 10_000, async () => (await check(port, 'acme')) === 200);
    // The count carried over: acme has used 2 of 5 by now (1 before, 1 just now).
    for (let i = 0; i < 3; i++) expect(await check(port, 'acme')).toBe(200);
    expect(await check(port, 'acme')).toBe(429);

    writeFileSync(target, 'version: 1\nrules:\n  - { name: per-tenant, key: [tenant], limit: 5/0s }\n');
    s.child.kill('SIGHUP');
    await until('the refusal to be logged', 10_000, async () => /reload refused/.test(s.output()));
    expect(s.output()).toContain('policy.yaml');
    expect(await check(port, 'globex')).toBe(200); // still the 5/1m policy
    expect(s.child.exitCode).toBeNull();

    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
  }, 60_000);

  it('a broken policy stops startup before any port opens, naming the file and line', async () => {
    const file = join(root, 'broken.yaml');
    writeFileSync(file, 'version: 1\nrules:\n  - { name: per-tenant, key: [tenant], limit: 5/0s }\n');
    const port = await freePort();
    const s = serve(file, port);
    const code = await s.exited;
    expect(code).not.toBe(0);
    expect(s.output()).toMatch(/broken\.yaml:3/);
    expect(s.output()).not.toMatch(/^\s+at /m); // no stack trace
    await expect(request(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  }, 30_000);
});

if (!existsSync(CLI)) console.warn('\n!! SKIPPED: CLI signal tests — dist/cli.js is missing; run `npm run build` (npm test does)\n');
