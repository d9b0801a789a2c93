import { describe, expect, it } from 'vitest';
import { compileRoutes } from '../../src/http/subject.js';
import type { CompiledRoute } from '../../src/policy/compiled.js';

/** Route patterns at two more edges: a `*` that is not the last segment, and an escape at a parameter's first character. */
describe('routes', () => {
  const table = (routes: CompiledRoute[]) => {
    const t = compileRoutes(routes)!;
    return (path: string) => {
      const into: Record<string, string | number | boolean> = {};
      t('GET', path, into);
      return into;
    };
  };

  it('only a trailing * is the rest of the path; a * inside a path is that character', () => {
    const t = table([{ path: '/a/*/b', api: 'star' }]);
    expect(t('/a/*/b')).toEqual({ api: 'star', route: '/a/*/b' });
    expect(t('/a/x/b')).toEqual({});
    expect(t('/a/x/y/b')).toEqual({});
  });

  it('a parameter is percent-decoded even when it starts with an escape', () => {
    const t = table([{ path: '/u/:name', api: 'user' }]);
    expect(t('/u/%41b').name).toBe('Ab');
    expect(t('/u/a%42').name).toBe('aB');
    expect(t('/u/%E0%A4%A').name).toBe('%E0%A4%A'); // not a valid escape: kept as sent
  });
});
