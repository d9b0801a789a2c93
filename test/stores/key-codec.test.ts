import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { escapeValue, KEY_EXTRA, unescapeValue } from '../../src/stores/key-codec.js';
import { stateKey } from '../../src/engine/keys.js';
import { loadPolicyText } from '../../src/policy/load.js';

/** Any 16-bit code unit, lone surrogates included: what a JSON body's "\ud800" decodes to. */
const units = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 40 });
/** Biased towards the characters the escape is about. */
const tricky = fc.string({ unit: fc.constantFrom('%', '|', '{', '}', '=', '\ud800', '\udc00', '\udbff', 'a', '7', 'C', 'u', '\u0000', '\n'), maxLength: 12 });
const anyValue = fc.oneof(units, tricky, fc.string({ unit: 'binary' }));

describe('key values are data (src/stores/key-codec.ts)', () => {
  it('escaping never throws and round-trips any string of code units', () => {
    fc.assert(
      fc.property(anyValue, fc.constantFrom('', KEY_EXTRA, '=@~{}'), (s, extra) => {
        const e = escapeValue(s, extra);
        expect(unescapeValue(e)).toBe(s);
        expect(e).not.toMatch(/\|/);
        for (const ch of extra) expect(e.includes(ch)).toBe(false);
        // Well-formed UTF-16: survives UTF-8 (SQLite, Redis) unchanged.
        expect(Buffer.from(e, 'utf8').toString('utf8')).toBe(e);
      }),
      { numRuns: 2000 },
    );
  });

  it('distinct tuples of values give distinct state keys', () => {
    const policy = loadPolicyText(`rules:\n  - name: r\n    limit: 5/1m\n    key: [a, b]\n`);
    const rule = policy.rules[0];
    fc.assert(
      fc.property(anyValue, anyValue, anyValue, anyValue, (a1, b1, a2, b2) => {
        fc.pre(a1 !== a2 || b1 !== b2);
        expect(stateKey(rule, { a: a1, b: b1 })).not.toBe(stateKey(rule, { a: a2, b: b2 }));
      }),
      { numRuns: 2000 },
    );
  });

  it('leaves plain values alone and escapes the reserved ones visibly', () => {
    expect(escapeValue('acme')).toBe('acme');
    expect(escapeValue('😀 ü')).toBe('😀 ü');
    expect(escapeValue('a%\ud800')).toBe('a%25%uD800');
    expect(escapeValue('a|b{c}', KEY_EXTRA)).toBe('a%7Cb%7Bc%7D');
    expect(unescapeValue('100%')).toBe('100%'); // not Sluice's escape: literal
  });
});
