import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { toSubjectConfig } from '../../src/http/subject-config.js';
import { policyEnvironment } from '../../src/policy/environment.js';
import { ConfigError } from '../../src/policy/errors.js';
import { closest } from '../../src/policy/suggest.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-mutants-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('"did you mean"', () => {
  it('suggests the nearest name by edit distance, case-blind, within max(2, a third of the word)', () => {
    expect(closest('algoritm', ['algorithm', 'limit'])).toBe('algorithm'); // 1 deletion
    expect(closest('LIMIT', ['limit', 'key'])).toBe('limit');
    expect(closest('kye', ['key', 'keys'])).toBe('key'); // transposition = 2 edits, still ≤ 2
    expect(closest('abc', ['xyz'])).toBeUndefined(); // 3 edits > max(2, 1)
    expect(closest('abcdefghi', ['abcxyzghi'])).toBe('abcxyzghi'); // 3 edits ≤ 9/3
    expect(closest('abcdefghi', ['abwxyzghi'])).toBeUndefined(); // 4 edits > 3
    expect(closest('x', [])).toBeUndefined();
    expect(closest('cat', ['cut', 'cat'])).toBe('cat'); // the exact one beats the first near one
    expect(closest('cat', ['cut', 'cot'])).toBe('cut'); // ties: the first
    expect(closest('', ['ab'])).toBe('ab');
    expect(closest('', ['abc'])).toBeUndefined();
    expect(closest('abcd', ['abcdxy'])).toBe('abcdxy'); // 2 insertions
    expect(closest('abcd', ['xabcdy'])).toBe('xabcdy');
    expect(closest('abcd', ['abxd'])).toBe('abxd');
    expect(closest('route', ['rule', 'routes'])).toBe('routes');
  });
});

describe('what a policy needs from its environment', () => {
  it('a secret_env that is unset or empty, and an unreadable public_key_file, are named with how to fix them', () => {
    const subject = (jwt: Record<string, unknown>) => ({ subject: { jwt } }) as unknown as Parameters<typeof policyEnvironment>[0];
    expect(policyEnvironment(subject({ secret_env: 'S' }), { S: 'x' })).toEqual([]);
    expect(policyEnvironment(subject({ secret_env: 'S' }), { S: '' })).toEqual([
      { path: 'subject.jwt.secret_env', message: 'environment variable S is not set (the JWT secret); set it before starting the gateway or middleware, e.g. S=$(openssl rand -hex 32)' },
    ]);
    expect(policyEnvironment(subject({ secret_env: 'S' }), {})).toHaveLength(1);
    const file = join(dir, 'key.pem');
    writeFileSync(file, 'k');
    expect(policyEnvironment(subject({ public_key_file: file }), {})).toEqual([]);
    expect(policyEnvironment(subject({ public_key_file: join(dir, 'none.pem') }), {})).toEqual([
      { path: 'subject.jwt.public_key_file', message: `cannot read ${join(dir, 'none.pem')} (ENOENT)` },
    ]);
    expect(policyEnvironment({ subject: undefined }, {})).toEqual([]);
    expect(policyEnvironment(subject({}), {})).toEqual([]);
  });
});

describe('the subject section', () => {
  it('maps snake_case to the programmatic config, leaving out what is not given', () => {
    expect(toSubjectConfig({})).toEqual({});
    const c = toSubjectConfig({
      headers: { 'x-account-id': 'account' },
      set: { region: 'eu' },
      api_keys: { header: 'x-key', required: true, keys: { k_live_123: { account: 'a' } } },
      trusted_proxies: ['loopback'],
      ip_attribute: 'client',
      ip_prefix: { v6: 64 },
    });
    expect(c).toEqual({
      headers: { 'x-account-id': 'account' },
      set: { region: 'eu' },
      apiKeys: { header: 'x-key', required: true, keys: { k_live_123: { account: 'a' } } },
      trustedProxies: ['loopback'],
      ipAttribute: 'client',
      ipPrefix: { v6: 64 },
    });
  });

  it('jwt: the secret, from the environment or inline; a public key from a file; every option carried', () => {
    process.env.SLUICE_MUTANTS_SECRET = 's'.repeat(32);
    try {
      const c = toSubjectConfig({ jwt: { claims: { sub: 'user' }, secret_env: 'SLUICE_MUTANTS_SECRET', header: 'x-t', issuer: 'i', audience: 'a', leeway: 5, required: true } });
      expect(c.jwt).toEqual({ header: 'x-t', claims: { sub: 'user' }, secret: 's'.repeat(32), publicKey: undefined, issuer: 'i', audience: 'a', leewaySeconds: 5, required: true, trustUnverified: undefined });
    } finally {
      delete process.env.SLUICE_MUTANTS_SECRET;
    }
    expect(toSubjectConfig({ jwt: { claims: {}, secret: 'k'.repeat(16) } }).jwt?.secret).toBe('k'.repeat(16));
    const file = join(dir, 'pub.pem');
    writeFileSync(file, 'PEM TEXT');
    expect(toSubjectConfig({ jwt: { claims: {}, public_key_file: file } }).jwt?.publicKey).toBe('PEM TEXT');
    expect(toSubjectConfig({ jwt: { claims: {}, public_key: 'INLINE' } }).jwt?.publicKey).toBe('INLINE');
    expect(toSubjectConfig({ jwt: { claims: {}, trust_unverified: true } }).jwt?.trustUnverified).toBe(true);
  });

  it('refuses with what and where: an unset secret_env, an unreadable key file, a schema error with its path', () => {
    delete process.env.SLUICE_MUTANTS_UNSET;
    expect(() => toSubjectConfig({ jwt: { claims: {}, secret_env: 'SLUICE_MUTANTS_UNSET' } })).toThrow(
      new ConfigError('subject.jwt.secret_env: environment variable SLUICE_MUTANTS_UNSET is not set (the JWT secret); set it before starting, e.g. SLUICE_MUTANTS_UNSET=$(openssl rand -hex 32)'),
    );
    expect(() => toSubjectConfig({ jwt: { claims: {}, public_key_file: join(dir, 'missing.pem') } }, 'gateway.subject')).toThrow(
      new ConfigError(`gateway.subject.jwt.public_key_file: cannot read ${join(dir, 'missing.pem')} (ENOENT)`),
    );
    expect(() => toSubjectConfig({ ip_prefix: { v4: 33 } }, 'sub')).toThrow(/^invalid subject configuration: sub\.ip_prefix\.v4: /);
    expect(() => toSubjectConfig({ ip_prefix: { v4: 33, v6: 129 } })).toThrow(/subject\.ip_prefix\.v4: .*; subject\.ip_prefix\.v6: /);
  });
});
