import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * `sluice gateway` with its admin API, through the built CLI (npm test builds first): the token
 * from a file, the admin API on a port of its own (port 0: any free one, said on the startup
 * line), and a token setup that cannot work refused in one line with exit 2, before any port opens.
 */

const CLI = new URL('../../dist/cli.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-gw-'));
const policy = join(dir, 'policy.yaml');
const tokenFile = join(dir, 'admin-token');
writeFileSync(policy, 'rules:\n  - { name: all, limit: 100/1m }\n');
writeFileSync(tokenFile, 'cli-gw-admin-token\n');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sluice gateway --admin-token-file --admin-port', () => {
  it('serves the admin API on its own port with the token from the file', { timeout: 30_000 }, async () => {
    const child = spawn(process.execPath, [CLI, 'gateway', '--config', policy, '--upstream', 'http://127.0.0.1:9', '--port', '0', '--admin-port', '0', '--admin-token-file', tokenFile], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, SLUICE_ADMIN_TOKEN: '', SLUICE_READ_TOKEN: '' },
    });
    try {
      const line = await new Promise<Record<string, string>>((resolve, reject) => {
        let err = '';
        const timer = setTimeout(() => reject(new Error(`no startup line: ${err}`)), 20_000);
        child.stderr!.on('data', (d: Buffer) => {
          err += d;
          const m = /^\{"msg":"sluice gateway listening".*\}$/m.exec(err);
          if (m) {
            clearTimeout(timer);
            resolve(JSON.parse(m[0]));
          }
        });
        child.on('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
      });
      expect(line.admin).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1\/admin$/);
      expect(line.admin.startsWith(`${line.url}/`)).toBe(false); // a port of its own
      expect((await fetch(`${line.admin}/policy`)).status).toBe(401);
      const r = await fetch(`${line.admin}/policy`, { headers: { authorization: 'Bearer cli-gw-admin-token' } });
      expect(r.status).toBe(200);
      expect(((await r.json()) as { rules: { name: string }[] }).rules.map((x) => x.name)).toEqual(['all']);
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('an unreadable token file is one line, exit 2', () => {
    const r = spawnSync(process.execPath, [CLI, 'gateway', '--config', policy, '--upstream', 'http://127.0.0.1:9', '--port', '0', '--admin-token-file', join(dir, 'nope')], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toMatch(/^sluice: cannot read the admin token file .*nope: ENOENT$/);
  });
});
