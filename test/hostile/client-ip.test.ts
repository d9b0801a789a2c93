import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalIpv6, compileClientIp, ipNetwork, normalizeIp } from '../../src/http/client-ip.js';
import { loadPolicy } from '../../src/policy/load.js';
import { PolicyError } from '../../src/policy/errors.js';

const groups = fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 });
const hex = (g: number[]) => g.map((n) => n.toString(16));

/** Ways of writing the same 8 groups: expanded, leading zeros, upper case, any zero run compressed. */
function spellings(g: number[]): string[] {
  const out = [hex(g).join(':'), g.map((n) => n.toString(16).padStart(4, '0')).join(':'), hex(g).join(':').toUpperCase()];
  for (let i = 0; i < 8; i++) {
    for (let j = i + 1; j <= 8; j++) {
      if (g.slice(i, j).every((n) => n === 0) && j - i >= 1) out.push(`${hex(g.slice(0, i)).join(':')}::${hex(g.slice(j)).join(':')}`);
    }
  }
  return out;
}

describe('client IP: one client, one spelling', () => {
  it('every spelling of an address canonicalises to the same text, which is WHATWG URL’s (RFC 5952) form', () => {
    fc.assert(
      fc.property(groups, (g) => {
        const mapped = g.slice(0, 5).every((n) => n === 0) && g[5] === 0xffff;
        const want = mapped ? `${g[6] >> 8}.${g[6] & 255}.${g[7] >> 8}.${g[7] & 255}` : new URL(`http://[${hex(g).join(':')}]/`).hostname.slice(1, -1);
        for (const s of spellings(g)) expect(normalizeIp(s), s).toBe(want);
      }),
      { numRuns: 2000 },
    );
  });

  it('IPv4-mapped addresses are the IPv4 address; brackets, ports and zones are stripped', () => {
    expect(normalizeIp('::ffff:1.2.3.4')).toBe('1.2.3.4');
    expect(normalizeIp('::FFFF:0102:0304')).toBe('1.2.3.4');
    expect(normalizeIp('0:0:0:0:0:ffff:1.2.3.4')).toBe('1.2.3.4');
    expect(normalizeIp('[2001:DB8::1]:443')).toBe('2001:db8::1');
    expect(normalizeIp('1.2.3.4:80')).toBe('1.2.3.4');
    expect(normalizeIp('fe80::1%eth0')).toBe('fe80::1');
    expect(canonicalIpv6('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1'); // the first of two equal runs
    expect(canonicalIpv6('2001:db8:0:1:1:1:1:1')).toBe('2001:db8:0:1:1:1:1:1'); // a single zero group is not compressed
    for (const bad of ['', 'x', '1.2.3', '1.2.3.256', '::g', '1::2::3', '12345::']) expect(normalizeIp(bad), bad).toBeUndefined();
  });

  it('ip networks: any prefix, every address inside one network gives the same text', () => {
    expect(ipNetwork('2001:db8:1:2:aaaa:bbbb:cccc:dddd', { v6: 64 })).toBe('2001:db8:1:2::/64');
    expect(ipNetwork('2001:db8:1:2:aaaa:bbbb:cccc:dddd', { v6: 56 })).toBe('2001:db8:1::/56');
    expect(ipNetwork('2001:db8:1:2:aaaa:bbbb:cccc:dddd', { v6: 1 })).toBe('::/1');
    expect(ipNetwork('203.0.113.77', { v4: 24 })).toBe('203.0.113.0/24');
    expect(ipNetwork('203.0.113.77', { v4: 0 })).toBe('0.0.0.0/0');
    expect(ipNetwork('203.0.113.77', { v6: 64 })).toBe('203.0.113.77');
    fc.assert(
      fc.property(groups, groups, fc.integer({ min: 0, max: 128 }), (a, b, bits) => {
        // b shares a's first `bits` bits
        const mixed = a.map((n, i) => {
          const keep = Math.max(0, Math.min(16, bits - i * 16));
          const mask = keep === 0 ? 0 : (0xffff << (16 - keep)) & 0xffff;
          return (n & mask) | (b[i] & ~mask & 0xffff);
        });
        const mapped = (g: number[]) => g.slice(0, 5).every((n) => n === 0) && g[5] === 0xffff;
        if (mapped(a) || mapped(mixed)) return; // IPv4-mapped: an IPv4 client (either one, since a short prefix takes b's first groups)
        const x = normalizeIp(hex(a).join(':'))!;
        const y = normalizeIp(hex(mixed).join(':'))!;
        expect(ipNetwork(x, { v6: bits })).toBe(ipNetwork(y, { v6: bits }));
      }),
      { numRuns: 1000 },
    );
  });

  it('X-Forwarded-For lines whose order changes the client are refused; agreeing lines are one list', () => {
    const ip = compileClientIp(['10.0.0.0/8']);
    expect(() => ip('10.0.0.1', {}, ['198.51.100.7', '203.0.113.9'])).toThrow(/more than once/);
    expect(ip('10.0.0.1', {}, ['198.51.100.7, 10.0.0.2', '10.0.0.3'])).toBe('198.51.100.7');
    expect(ip('10.0.0.1', {}, ['198.51.100.7', '198.51.100.7'])).toBe('198.51.100.7');
    expect(ip('203.0.113.1', {}, ['198.51.100.7', '203.0.113.9'])).toBe('203.0.113.1'); // untrusted peer: never read
    expect(compileClientIp(['10.0.0.0/8'], { v6: 64 })('10.0.0.1', { 'x-forwarded-for': '2001:DB8:1:2::99' })).toBe('2001:db8:1:2::/64');
  });

  it('the policy schema checks ip_prefix', () => {
    const policy = (ip_prefix: unknown) => ({ rules: [{ name: 'r', key: ['ip'], limit: '1/1m' }], subject: { ip_prefix } });
    expect(() => loadPolicy(policy({ v4: 24, v6: 64 }))).not.toThrow();
    for (const bad of [{ v6: 129 }, { v4: 33 }, { v4: 1.5 }, { v6: -1 }, { v8: 1 }]) {
      let err: unknown;
      try {
        loadPolicy(policy(bad));
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(bad)).toBeInstanceOf(PolicyError);
      expect((err as PolicyError).issues[0].path, JSON.stringify(bad)).toMatch(/^subject\.ip_prefix/);
    }
  });
});
