/**
 * The proto3 JSON mapping of /json, unit by unit: both field spellings, every unknown
 * field named with its path, the Duration form, and a property test that any request
 * built from the proto's fields reads back as itself.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { durationJson, parseJsonRequest } from '../../src/envoy/json.js';

describe('parseJsonRequest', () => {
  it('reads lowerCamelCase and snake_case names alike', () => {
    const camel = parseJsonRequest('{"domain":"d","hitsAddend":2,"descriptors":[{"entries":[{"key":"k","value":"v"}],"hitsAddend":3,"limit":{"requestsPerUnit":5,"unit":"MINUTE"}}]}');
    const snake = parseJsonRequest('{"domain":"d","hits_addend":2,"descriptors":[{"entries":[{"key":"k","value":"v"}],"hits_addend":3,"limit":{"requests_per_unit":5,"unit":"MINUTE"}}]}');
    expect(camel).toEqual(snake);
    expect(camel).toEqual({ domain: 'd', hits_addend: 2, descriptors: [{ entries: [{ key: 'k', value: 'v' }], hits_addend: 3, limit: { requests_per_unit: 5, unit: 'MINUTE' } }] });
  });

  it.each([
    ['{"domain":"d","x":1}', 'unknown field "x" (known fields: domain, descriptors, hitsAddend)'],
    ['{"descriptors":[{"entries":[],"y":1}]}', 'unknown field "descriptors[0].y" (known fields: entries, limit, hitsAddend)'],
    ['{"descriptors":[{"entries":[{"key":"k","z":1}]}]}', 'unknown field "descriptors[0].entries[0].z" (known fields: key, value)'],
    ['{"descriptors":[{"limit":{"unit":"SECOND","w":1}}]}', 'unknown field "descriptors[0].limit.w" (known fields: requestsPerUnit, unit)'],
    ['[]', 'the body must be a JSON object'],
    ['{"descriptors":{}}', 'descriptors is a list'],
    ['{"descriptors":[{"entries":{}}]}', 'descriptors[0].entries is a list'],
    ['{"descriptors":[7]}', 'descriptors[0] must be a JSON object'],
  ])('%s → %s', (body, message) => {
    expect(() => parseJsonRequest(body)).toThrow(message);
  });

  it('a body that is not JSON is a SyntaxError (answered invalid_json)', () => {
    expect(() => parseJsonRequest('{"domain":')).toThrow(SyntaxError);
  });

  it('any request made of the proto fields reads back as itself', () => {
    const entry = fc.record({ key: fc.string(), value: fc.string() });
    const descriptor = fc.record(
      { entries: fc.array(entry, { maxLength: 4 }), hits_addend: fc.nat(), limit: fc.record({ requests_per_unit: fc.nat(), unit: fc.constantFrom('SECOND', 'MINUTE', 'HOUR', 'DAY') }) },
      { requiredKeys: ['entries'] },
    );
    fc.assert(
      fc.property(fc.record({ domain: fc.string(), descriptors: fc.array(descriptor, { maxLength: 4 }), hits_addend: fc.option(fc.nat(), { nil: undefined }) }), (req) => {
        const read = parseJsonRequest(JSON.stringify(req));
        expect(read).toEqual(JSON.parse(JSON.stringify(req)));
      }),
    );
  });
});

describe('durationJson', () => {
  it.each([
    [{ seconds: 3, nanos: 0 }, '3s'],
    [{ seconds: 0, nanos: 250_000_000 }, '0.250s'],
    [{ seconds: 1, nanos: 1_500_000 }, '1.001500s'],
    [{ seconds: 2, nanos: 1 }, '2.000000001s'],
    [{ seconds: 0, nanos: 999_999_999 }, '0.999999999s'],
  ])('%o → %s', (d, text) => {
    expect(durationJson(d)).toBe(text);
  });
});
