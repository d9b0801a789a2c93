import { describe, expect, it } from 'vitest';
import { toSubjectConfig } from '../../src/http/subject-config.js';

/** The policy's `subject:` section as a SubjectConfig: a setting left out is absent, not present as undefined. */
describe('toSubjectConfig', () => {
  it('carries only the settings the section gives', () => {
    expect(Object.keys(toSubjectConfig({}))).toEqual([]);
    expect(Object.keys(toSubjectConfig({ headers: { 'x-a': 'a' } }))).toEqual(['headers']);
    expect(Object.keys(toSubjectConfig({ set: { region: 'eu' } }))).toEqual(['set']);
    expect(Object.keys(toSubjectConfig({ trusted_proxies: ['loopback'] }))).toEqual(['trustedProxies']);
    expect(Object.keys(toSubjectConfig({ ip_attribute: 'client' }))).toEqual(['ipAttribute']);
    expect(Object.keys(toSubjectConfig({ ip_prefix: { v4: 24 } }))).toEqual(['ipPrefix']);
    expect(toSubjectConfig({ ip_prefix: { v4: 24 } })).toStrictEqual({ ipPrefix: { v4: 24 } });
  });
});
