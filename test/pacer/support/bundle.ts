/**
 * Forked workers run plain JavaScript: bundle a TypeScript entry with rolldown (vitest's
 * own bundler) into node_modules/.cache, keeping packages external.
 */
import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const OUT = join(ROOT, 'node_modules', '.cache', 'sluice-pacer-tests');

export async function bundle(entry: URL): Promise<string> {
  const { build } = await import('rolldown');
  mkdirSync(OUT, { recursive: true });
  const file = join(OUT, `${basename(entry.pathname, '.ts')}-${process.pid}-${Date.now()}.mjs`);
  await build({
    input: fileURLToPath(entry),
    platform: 'node',
    external: [/^[^./]/],
    // One file even where the code imports lazily (pace-command opens stores on demand).
    output: { file, format: 'esm', codeSplitting: false },
    logLevel: 'silent',
  });
  return file;
}
