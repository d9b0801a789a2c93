import { describe, expect, it } from 'vitest';
import { compileMatch, exactValues } from '../../src/policy/match.js';
import { Sluice } from '../../src/index.js';

/**
 * `path` and `method` are compared as routes compare them, on both sides: a policy that writes
 * `/PA/Login/` or `get`, and a /v1/check caller that sends `/pa/LOGIN` or `HEAD`, bind the same
 * rule as the gateway's normalised subject does. A login lockout written with capitals must not
 * silently never match, and a HEAD must not pass a rule on GET.
 */
const m = (match: Parameters<typeof compileMatch>[0]) => compileMatch(match, new Map(), []);

describe('match on path and method', () => {
  it('path: lower case and no trailing / on both sides; globs too; the root stays /', () => {
    const p = m({ path: '/PA/Login/' });
    for (const path of ['/pa/login', '/PA/LOGIN', '/pa/login/', '/Pa/Login/']) expect(p({ path })).toBe(true);
    expect(p({ path: '/pa/login2' })).toBe(false);
    expect(p({ path: '/pa' })).toBe(false);
    expect(m({ path: '/Reports/*' })({ path: '/reports/R1' })).toBe(true);
    expect(m({ path: '/' })({ path: '/' })).toBe(true);
    expect(m({ path: '/' })({ path: '//' })).toBe(true); // as routeKey reads it: one trailing / dropped
    expect(m({ path: '/a' })({ path: '/a//' })).toBe(false); // only one
  });

  it('path under not: the same folding, so /PA/LOGIN is not let out of a not', () => {
    const p = m({ path: { not: '/pa/login' } });
    expect(p({ path: '/PA/LOGIN/' })).toBe(false);
    expect(p({ path: '/pa/logout' })).toBe(true);
  });

  it('method: upper case on both sides, and GET also binds HEAD (not the other way round)', () => {
    const get = m({ method: 'get' });
    expect(get({ method: 'GET' })).toBe(true);
    expect(get({ method: 'HEAD' })).toBe(true);
    expect(get({ method: 'head' })).toBe(true);
    expect(get({ method: 'POST' })).toBe(false);
    const head = m({ method: 'HEAD' });
    expect(head({ method: 'GET' })).toBe(false);
    expect(m({ method: ['POST', 'PUT'] })({ method: 'HEAD' })).toBe(false);
    expect(m({ method: { not: 'GET' } })({ method: 'HEAD' })).toBe(false);
  });

  it('other attributes keep their case', () => {
    expect(m({ api: 'Chat' })({ api: 'chat' })).toBe(false);
    expect(m({ route: '/PA/Login' })({ route: '/pa/login' })).toBe(false);
  });

  it('the rule index leaves path and method to the predicate (it looks values up as given)', () => {
    expect(exactValues({ path: '/pa/login', method: 'POST', api: 'chat' }, new Map())).toEqual({ api: new Set(['chat']) });
  });

  it('through the engine: a lockout written /PA/Login binds a caller sending /pa/LOGIN/, HEAD counts on a GET rule', async () => {
    const sluice = Sluice.openSync({
      policy: {
        rules: [
          { name: 'login', key: 'ip', match: { path: '/PA/Login', method: 'POST' }, limit: '2/1m' },
          { name: 'reports', key: 'ip', match: { path: '/reports', method: 'GET' }, limit: '1/1m' },
        ],
      },
    });
    const login = (path: string) => sluice.checkSync({ ip: '10.0.0.1', path, method: 'post' }).allowed;
    expect([login('/pa/login'), login('/PA/LOGIN/'), login('/Pa/Login')]).toEqual([true, true, false]);
    expect(sluice.checkSync({ ip: '10.0.0.2', path: '/Reports/', method: 'GET' }).allowed).toBe(true);
    expect(sluice.checkSync({ ip: '10.0.0.2', path: '/reports', method: 'HEAD' }).allowed).toBe(false);
    await sluice.close();
  });
});
