import { describe, expect, it } from 'vitest';
import { ConfigError, PolicyError } from '../../src/policy/errors.js';

/** The two error classes' names: what a log line or the CLI's error handler tells them apart by. */
describe('policy and config errors', () => {
  it('are named for what they are', () => {
    expect(new ConfigError('no store "x"')).toMatchObject({ name: 'ConfigError', message: 'no store "x"' });
    expect(String(new ConfigError('m'))).toBe('ConfigError: m');
    expect(String(new PolicyError([{ path: 'rules', message: 'm', file: 'p.yaml', line: 2 }]))).toBe('PolicyError: p.yaml:2: rules: m');
  });
});
