import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/** CLI errors are one line naming what and where, never a stack; usage and configuration errors exit 2. Runs the built CLI (npm test builds first). */

const CLI = new URL('../../dist/cli.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-'));
const policyFile = join(dir, 'policy.yaml');
writeFileSync(
  policyFile,
  `rules:\n  - { name: a, key: [user], limit: 3/1m }\nsubject:\n  jwt: { claims: { sub: user }, secret_env: SLUICE_CLI_TEST_UNSET_SECRET }\n`,
);

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, SLUICE_CLI_TEST_UNSET_SECRET: '', ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function noStack(text: string) {
  expect(text).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
  expect(text).not.toMatch(/file:\/\/\//);
}

describe('sluice CLI errors', () => {
  it('--version prints the package version', () => {
    const r = run(['--version']);
    expect(r.code).toBe(0);
    expect(r.out.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('SLUICE_PORT=abc does not break validate, and serve names the variable (exit 2)', () => {
    const v = run(['validate', policyFile], { SLUICE_PORT: 'abc' });
    expect(v.code).toBe(0);
    expect(v.err).toMatch(/warning: .*subject\.jwt\.secret_env: environment variable SLUICE_CLI_TEST_UNSET_SECRET is not set/);
    const s = run(['serve', '--config', policyFile, '--store', 'memory'], { SLUICE_PORT: 'abc' });
    expect(s.code).toBe(2);
    expect(s.err).toMatch(/SLUICE_PORT/);
    noStack(s.err);
  });

  it('an unknown --store, an unreadable config and a missing JWT secret are one line each, exit 2', () => {
    for (const [args, pattern] of [
      [['serve', '--config', policyFile, '--store', 'bogus', '--port', '0'], /--store: Unknown store "bogus"/],
      [['serve', '--config', join(dir, 'nope.yaml'), '--port', '0'], /cannot read .*nope\.yaml/],
      [['validate', join(dir, 'nope.yaml')], /cannot read policy file/],
      [['gateway', '--config', policyFile, '--upstream', 'http://127.0.0.1:9', '--port', '0'], /SLUICE_CLI_TEST_UNSET_SECRET is not set/],
    ] as const) {
      const r = run([...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err, args.join(' ')).toMatch(pattern);
      expect(r.err.trim().split('\n'), args.join(' ')).toHaveLength(1);
      noStack(r.err);
    }
  });

  it('a port in use is one line naming the port (exit 2)', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    const port = (taken.address() as { port: number }).port;
    const r = spawnSync(process.execPath, [CLI, 'serve', '--config', policyFile, '--store', 'memory', '--host', '127.0.0.1', '--port', String(port), '--log-level', 'silent'], { encoding: 'utf8', timeout: 20_000 });
    taken.close();
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use`));
    noStack(r.stderr);
  });

  it('an Envoy config given to validate is recognised, not three policy errors', () => {
    const r = run(['validate', new URL('../../examples/envoy/config.yaml', import.meta.url).pathname]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/an Envoy ratelimit config \(domain messaging\)/);
  });

  it('an unknown command exits 2', () => {
    expect(run(['bogus']).code).toBe(2);
  });
});
