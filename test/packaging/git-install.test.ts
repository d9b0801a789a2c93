import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The package installs from git: a consumer project runs `npm install git+file://<fresh clone>`
 * and imports every subpath export. npm builds a git dependency by installing its dev
 * dependencies in a clone of its own and running its `prepare` script — never `prepack`,
 * which is why a git install shipped no dist/ before `prepare` (scripts/build-if-changed.mjs)
 * existed.
 *
 * Bounded in time: npm's cache first (--prefer-offline), each npm call under a timeout. Native
 * addons are not what is tested: the consumer declines their install scripts (allowScripts, npm
 * 11), and the better-sqlite3 that npm installs in its clone finds this checkout's own build as a
 * local prebuild, instead of compiling SQLite for minutes. prebuild-install is told where through
 * a `.prebuild-installrc` (it looks for one upwards from where it runs: the clone, inside npm's
 * cache), so npm runs on a cache of this test's own — hard links to the user's, made in a second —
 * rather than through an `npm_config_*_local_prebuilds` variable, which npm 11 warns about
 * ("Unknown env config"). The install must print no warning at all. Skips loudly only when git
 * or npm is missing.
 */

const ROOT = new URL('../..', import.meta.url).pathname;
const has = (cmd: string) => spawnSync(cmd, ['--version'], { encoding: 'utf8' }).status === 0;
const hasTools = has('git') && has('npm');
if (!hasTools) console.warn('\n*** test/packaging git install SKIPPED: git or npm is not on PATH ***\n');

const SUBPATHS = ['sluice', 'sluice/client', 'sluice/pacer', 'sluice/express', 'sluice/fastify', 'sluice/hono', 'sluice/gateway', 'sluice/server', 'sluice/envoy'];
const dir = mkdtempSync(join(tmpdir(), 'sluice-git-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }), 180_000); // a consumer's node_modules and a cache: thousands of files on a busy disk

function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}, timeout = 120_000) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout, env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false', ...env } });
  return { code: r.status, out: r.stdout, err: `${r.stderr}${r.error ? `\n${r.error.message}` : ''}` };
}

/** This checkout's better-sqlite3 build, packed as the prebuild prebuild-install looks for; undefined when there is none. */
function localPrebuilds(): string | undefined {
  const pkg = join(ROOT, 'node_modules/better-sqlite3');
  if (!existsSync(join(pkg, 'build/Release/better_sqlite3.node'))) return undefined;
  const { version } = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as { version: string };
  const out = join(dir, 'prebuilds');
  mkdirSync(out);
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  return run('tar', ['-czf', join(out, name), '-C', pkg, 'build/Release/better_sqlite3.node'], dir).code === 0 ? out : undefined;
}

/**
 * The environment for the consumer's npm: a cache of this test's own (hard links to the user's npm
 * cache, so --prefer-offline still finds every package) with a `.prebuild-installrc` above it naming
 * the local prebuilds. Without hard links (another file system) or a build: the user's cache, and
 * the clone compiles better-sqlite3 (minutes, within the timeout).
 */
function npmCacheWithPrebuilds(): Record<string, string> {
  const prebuilds = localPrebuilds();
  const userCache = run('npm', ['config', 'get', 'cache'], dir).out.trim();
  const cache = join(dir, 'npm-cache');
  mkdirSync(cache);
  if (!prebuilds || !existsSync(join(userCache, '_cacache')) || run('cp', ['-al', join(userCache, '_cacache'), join(cache, '_cacache')], dir).code !== 0) {
    console.warn('\n*** test/packaging git install: no local better-sqlite3 prebuild; the clone compiles it ***\n');
    return {};
  }
  writeFileSync(join(cache, '.prebuild-installrc'), `local-prebuilds=${prebuilds}\n`);
  return { npm_config_cache: cache };
}

describe.skipIf(!hasTools)('packaging from git', () => {
  it('npm install git+file://<fresh clone> builds dist/ (prepare) and every subpath export imports', { timeout: 600_000 }, () => {
    const clone = join(dir, 'clone');
    expect(run('git', ['clone', '-q', ROOT, clone], dir).code).toBe(0);
    expect(existsSync(join(clone, 'dist'))).toBe(false); // dist/ is not committed: the install must build it

    const consumer = join(dir, 'consumer');
    mkdirSync(consumer);
    // npm 11: the consumer runs Sluice's prepare (a git dependency is named by its URL: a bare
    // name matches registry packages only) and declines the native addons' builds (not needed to import).
    const allowScripts = { [`git+file://${clone}`]: true, 'better-sqlite3': false, protobufjs: false, 'unix-dgram': false };
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module', allowScripts }));
    const env = npmCacheWithPrebuilds();
    const installed = run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', `git+file://${clone}`], consumer, env, 540_000);
    expect(installed.code, installed.err).toBe(0);
    expect(installed.err).not.toMatch(/EBADENGINE/);
    expect(installed.err).not.toMatch(/npm warn/i); // quiet: no unknown config, no unreviewed install scripts
    const installedPkg = join(consumer, 'node_modules/sluice');
    for (const f of ['dist/index.js', 'dist/cli.js', 'dist/gateway/admin.js', 'LICENSE', 'cjs/index.cjs']) expect(existsSync(join(installedPkg, f)), f).toBe(true);
    // What ships is the package's `files`, not the clone: no sources, tests or dev tooling.
    for (const f of ['src', 'test', 'node_modules/typescript']) expect(existsSync(join(installedPkg, f)), f).toBe(false);

    writeFileSync(
      join(consumer, 'imports.mjs'),
      `for (const s of ${JSON.stringify(SUBPATHS)}) { const m = await import(s); if (Object.keys(m).length === 0) throw new Error(s + ' exports nothing'); }\nconst { Sluice } = await import('sluice');\nconst s = Sluice.openSync({ policy: { rules: [{ name: 'r', limit: '1/1s' }] } });\nconsole.log(s.checkSync({}).allowed, s.checkSync({}).allowed);\n`,
    );
    const imported = run(process.execPath, ['imports.mjs'], consumer);
    expect(imported.code, imported.err).toBe(0);
    expect(imported.out.trim()).toBe('true false');
    const version = run(process.execPath, [join(installedPkg, 'dist/cli.js'), '--version'], consumer);
    expect(version.out.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  });
});
