import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The package installs from a tarball of a fresh clone: `npm pack` runs prepack (the build),
 * so dist/ ships; a consumer project installs the tarball (npm's cache first, the registry
 * for what it lacks; no install scripts: nothing native is needed to import) and imports
 * every subpath export, and CommonJS require() gets the module (Node 20.19+) or a clear message.
 */

const ROOT = new URL('../..', import.meta.url).pathname;
const npm = spawnSync('npm', ['--version'], { encoding: 'utf8' });
const hasNpm = npm.status === 0;
if (!hasNpm) console.warn('\n*** test/packaging SKIPPED: npm is not on PATH ***\n');

const SUBPATHS = ['sluice', 'sluice/client', 'sluice/pacer', 'sluice/express', 'sluice/fastify', 'sluice/hono', 'sluice/gateway', 'sluice/server', 'sluice/envoy'];
const dir = mkdtempSync(join(tmpdir(), 'sluice-pack-'));

function run(cmd: string, args: string[], cwd: string, timeout = 180_000) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout, env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!hasNpm)('packaging', () => {
  it('a fresh clone packs with dist/, installs into a consumer, and every subpath export imports', { timeout: 400_000 }, () => {
    // A clone of what is committed, with this checkout's dependencies (as after `npm install`).
    const clone = join(dir, 'clone');
    expect(run('git', ['clone', '-q', ROOT, clone], dir).code).toBe(0);
    symlinkSync(join(ROOT, 'node_modules'), join(clone, 'node_modules'));
    const packed = run('npm', ['pack', '--pack-destination', dir], clone);
    expect(packed.code, packed.err).toBe(0);
    const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'))!;
    expect(tarball).toBeDefined();
    const listing = run('tar', ['-tzf', join(dir, tarball)], dir).out;
    for (const f of ['package/dist/index.js', 'package/dist/cli.js', 'package/LICENSE', 'package/cjs/index.cjs', 'package/proto/envoy/service/ratelimit/v3/rls.proto']) expect(listing).toContain(f);

    const consumer = join(dir, 'consumer');
    mkdirSync(consumer);
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }));
    const installed = run('npm', ['install', '--prefer-offline', '--ignore-scripts', join(dir, tarball)], consumer, 300_000);
    expect(installed.code, installed.err).toBe(0);
    expect(installed.err).not.toMatch(/EBADENGINE/);
    expect(existsSync(join(consumer, 'node_modules/sluice/dist/index.js'))).toBe(true);

    writeFileSync(join(consumer, 'imports.mjs'), `for (const s of ${JSON.stringify(SUBPATHS)}) { const m = await import(s); if (Object.keys(m).length === 0) throw new Error(s + ' exports nothing'); }\nconst { Sluice } = await import('sluice');\nconst s = Sluice.openSync({ policy: { rules: [{ name: 'r', limit: '1/1s' }] } });\nconsole.log(s.checkSync({}).allowed, s.checkSync({}).allowed);\n`);
    const imported = run(process.execPath, ['imports.mjs'], consumer);
    expect(imported.code, imported.err).toBe(0);
    expect(imported.out.trim()).toBe('true false');

    writeFileSync(join(consumer, 'require.cjs'), `try { const { Sluice } = require('sluice'); console.log(typeof Sluice); } catch (e) { console.log(e.code, e.message); }\n`);
    const required = run(process.execPath, ['require.cjs'], consumer);
    expect(required.out).toMatch(/^function|ERR_REQUIRE_ESM sluice is ESM-only/);
    const old = run(process.execPath, ['--no-experimental-require-module', 'require.cjs'], consumer);
    if (old.code === 0 && !/bad option/.test(old.err)) expect(old.out).toMatch(/^function|ERR_REQUIRE_ESM sluice is ESM-only/);
  });
});
