import { describe, expect, it } from 'vitest';
import { compileMatch } from '../../src/policy/match.js';

/** Match edges left open by test/mutants/policy-match.test.ts: absent values against members spelt like them. */
const groups = new Map<string, ReadonlySet<string>>([['odd', new Set(['undefined', 'null', 'x'])]]);

describe('absent is never a value, whatever the value is spelt', () => {
  it('a group holding "undefined" and "null" does not match an absent or null attribute', () => {
    const p = compileMatch({ a: { group: 'odd' } }, groups, []);
    expect([p({}), p({ a: null }), p({ a: undefined }), p({ a: 'null' }), p({ a: 'undefined' }), p({ a: 'x' })]).toEqual([false, false, false, true, true, true]);
  });

  it('an exact "undefined" or "null", alone or in a list, does not match an absent attribute', () => {
    expect([compileMatch({ a: 'undefined' }, groups, [])({}), compileMatch({ a: 'null' }, groups, [])({ a: null })]).toEqual([false, false]);
    expect(compileMatch({ a: ['null', 'undefined'] }, groups, [])({})).toBe(false);
    expect(compileMatch({ a: ['null', 'u*'] }, groups, [])({})).toBe(false);
    expect(compileMatch({ a: ['null', 'u*'] }, groups, [])({ a: 'up' })).toBe(true);
  });

  it('not: an absent attribute is not any value, even "undefined"; a present one is tested as text', () => {
    const p = compileMatch({ a: { not: ['undefined', 'null', 'n*'] } }, groups, []);
    expect([p({}), p({ a: null }), p({ a: 'undefined' }), p({ a: 'nope' }), p({ a: 'yes' }), p({ a: 0 })]).toEqual([true, true, false, false, true, true]);
  });

  it('a required attribute is present when 0 or false, absent when "", null or undefined', () => {
    const p = compileMatch(undefined, groups, ['k', 'j']);
    expect([p({ k: 0, j: false }), p({ k: 0 }), p({ k: '', j: 1 }), p({ k: null, j: 1 }), p({ j: 1 })]).toEqual([true, false, false, false, false]);
  });
});
