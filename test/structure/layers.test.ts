import { describe, expect, test } from 'vitest';
import { cycles, importGraph, type ImportEdge } from './imports.js';

/**
 * The architecture, as a test: layers point one way. A file may import its own folder and
 * any folder of a lower layer, never one of a higher or the same layer (siblings stay
 * independent). A failure names the import to move.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['algorithms', 'headers'],
  ['policy', 'stores'],
  ['engine'],
  ['http'],
  ['middleware', 'envoy', 'client', 'dashboard'],
  ['gateway', 'server', 'pacer', 'simulate'],
  ['cli.ts', 'index.ts'],
];

function layerOf(file: string): number {
  const top = file.split('/')[0];
  const i = LAYERS.findIndex((l) => l.includes(top));
  if (i < 0) throw new Error(`src/${file}: its folder "${top}" has no layer; add it to LAYERS in test/structure/layers.test.ts`);
  return i;
}

const edges = importGraph('src');
const folder = (f: string) => f.split('/')[0];

describe('structure of src/', () => {
  test('every import points to a lower layer or within its own folder', () => {
    const upward = edges.filter((e: ImportEdge) => folder(e.from) !== folder(e.to) && layerOf(e.to) >= layerOf(e.from));
    expect(upward.map((e) => `src/${e.from} imports src/${e.to}`)).toEqual([]);
  });

  test('no import cycles between files (type-only imports included)', () => {
    expect(cycles(edges)).toEqual([]);
  });

  test('the graph is read at all (guards against a regex that matches nothing)', () => {
    expect(edges.length).toBeGreaterThan(100);
    expect(edges).toContainEqual({ from: 'engine/sluice.ts', to: 'stores/store.ts' });
  });
});
