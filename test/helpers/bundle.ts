/**
 * Forked child processes run plain JavaScript: bundle a TypeScript entry with rolldown
 * (vitest's own bundler) into node_modules/.cache, keeping packages external so they
 * resolve from the repo's node_modules. One file even where the code imports lazily.
 */
import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OUT = join(ROOT, 'node_modules', '.cache', 'sluice-tests');

export async function bundle(entry: URL): Promise<string> {
  const { build } = await import('rolldown');
  mkdirSync(OUT, { recursive: true });
  const file = join(OUT, `${basename(entry.pathname, '.ts')}-${process.pid}-${Date.now()}.mjs`);
  await build({
    input: fileURLToPath(entry),
    platform: 'node',
    external: [/^[^./]/],
    output: { file, format: 'esm', codeSplitting: false },
    logLevel: 'silent',
  });
  return file;
}
