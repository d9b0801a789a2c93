import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * The page's static files, served from the package itself (no CDN; it works offline):
 * the page, its script and style from assets/dashboard/ (shipped with the package, found
 * relative to this module from src/ and dist/ alike), and uPlot's own dist files
 * resolved from node_modules at run time.
 */
const OWN = new URL('../../assets/dashboard/', import.meta.url);
const require = createRequire(import.meta.url);

interface Asset {
  type: string;
  path: string;
}

export const ASSETS: Readonly<Record<string, Asset>> = {
  'index.html': { type: 'text/html; charset=utf-8', path: fileURLToPath(new URL('index.html', OWN)) },
  'app.js': { type: 'text/javascript; charset=utf-8', path: fileURLToPath(new URL('app.js', OWN)) },
  'app.css': { type: 'text/css; charset=utf-8', path: fileURLToPath(new URL('app.css', OWN)) },
  'uplot.js': { type: 'text/javascript; charset=utf-8', path: require.resolve('uplot/dist/uPlot.iife.min.js') },
  'uplot.css': { type: 'text/css; charset=utf-8', path: require.resolve('uplot/dist/uPlot.min.css') },
};

const cache = new Map<string, Buffer>();

/** An asset's bytes (read once), or undefined for a name that is not one. */
export function readAsset(name: string): { type: string; body: Buffer } | undefined {
  const a = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
  if (!a) return undefined;
  let body = cache.get(name);
  if (!body) cache.set(name, (body = readFileSync(a.path)));
  return { type: a.type, body };
}
