// Builds dist/ only when a source changed since the last build, so an unchanged checkout
// starts at once instead of recompiling (~20 s). Run by `npm start` and by npm's `prepare`:
// npm runs `prepare` (never `prepack`) when it installs Sluice from git (git+file://,
// github:…), after installing the dev dependencies in its clone, and after `npm install` or
// `npm ci` in a checkout; `npm pack` runs prepack (a full build) and then this, which has
// nothing left to do.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const stamp = join(root, 'dist', 'cli.js');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

const sources = Math.max(newest(join(root, 'src')), statSync(join(root, 'tsconfig.build.json')).mtimeMs, statSync(join(root, 'package.json')).mtimeMs);
if (existsSync(stamp) && statSync(stamp).mtimeMs >= sources) process.exit(0);
if (!existsSync(tsc)) {
  // An install without dev dependencies (npm ci --omit=dev in a checkout): nothing to build with.
  console.error('sluice: dist/ is missing or older than src/, and TypeScript is not installed: run `npm install` (with dev dependencies), then `npm run build`');
  process.exit(process.env.npm_lifecycle_event === 'prepare' ? 0 : 1);
}
console.error('sluice: sources changed since the last build; building (npm run build)…');
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
