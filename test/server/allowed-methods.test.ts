import { describe, expect, it } from 'vitest';
import { AllowedMethods } from '../../src/server/allowed-methods.js';

/** 405's Allow list: route patterns matched by find-my-way (fastify's router). */
describe('AllowedMethods', () => {
  const known = new AllowedMethods(100);
  known.add(['POST'], '/v1/check');
  known.add(['GET', 'HEAD'], '/v1/admin/attributes/:attr/:value');
  known.add(['PUT'], '/v1/admin/attributes/:attr/:value');
  known.add(['GET'], '/dashboard/*');

  it('collects every method of a pattern, sorted', () => {
    expect(known.allowed('/v1/admin/attributes/tenant/acme')).toEqual(['GET', 'HEAD', 'PUT']);
    expect(known.allowed('/v1/check')).toEqual(['POST']);
  });

  it('matches a trailing slash, a parameter per segment and a wildcard tail', () => {
    expect(known.allowed('/v1/check/')).toEqual(['POST']);
    expect(known.allowed('/dashboard/app.js')).toEqual(['GET']);
    expect(known.allowed('/v1/admin/attributes/tenant')).toEqual([]);
    expect(known.allowed('/v1/admin/attributes/tenant/acme/extra')).toEqual([]);
  });

  it('knows nothing of unknown paths, absolute-form targets or parameters over the length limit', () => {
    expect(known.allowed('/v2/check')).toEqual([]);
    expect(known.allowed('http://evil.example/v1/check')).toEqual([]);
    expect(known.allowed(`/v1/admin/attributes/tenant/${'x'.repeat(101)}`)).toEqual([]);
  });
});
