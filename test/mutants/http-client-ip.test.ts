import { BlockList } from 'node:net';
import { describe, expect, it } from 'vitest';
import { canonicalIpv6, compileClientIp, trustCache, trustList } from '../../src/http/client-ip.js';
import { compileSubject } from '../../src/http/subject.js';
import { checkGatewayPolicy } from '../../src/gateway/policy-check.js';
import { ConfigError, PolicyError } from '../../src/policy/errors.js';
import { loadPolicyText } from '../../src/policy/load.js';

/** Client-IP edges the older mutant tests left open: prefix spellings, each mapped-prefix group, the trust cache's bound. */
describe('trusted-proxy prefix lengths', () => {
  const bad = (entry: string, max = 32) => new ConfigError(`trusted_proxies: "${entry}" has a bad prefix length (0-${max})`);

  it('an empty prefix is an error, not /0 (which trusted every peer, so any client could name its own IP)', () => {
    expect(() => trustList(['10.0.0.0/'])).toThrow(bad('10.0.0.0/'));
    expect(() => trustList(['10.0.0.0/ '])).toThrow(bad('10.0.0.0/ '));
    expect(() => trustList(['fd00::/'])).toThrow(bad('fd00::/', 128));
    // Before, "10.0.0.0/" made 198.51.100.7 a trusted proxy: its X-Forwarded-For chose the client, one budget per spoofed address.
    expect(() => compileClientIp(['10.0.0.0/'])).toThrow(bad('10.0.0.0/'));
    expect(() => compileSubject({ trustedProxies: ['10.0.0.0/'] })).toThrow(bad('10.0.0.0/'));
  });

  it('only decimal digits, once: no sign, space, hex, exponent or second slash', () => {
    for (const entry of ['10.0.0.0/+8', '10.0.0.0/ 8', '10.0.0.0/8 ', '10.0.0.0/0x8', '10.0.0.0/1e1', '10.0.0.0/x8', '10.0.0.0/8x', '10.0.0.0/8/9', '10.0.0.0//8']) {
      expect(() => trustList([entry]), entry).toThrow(bad(entry));
    }
    const list = trustList(['10.0.0.0/16', '192.0.2.0/08', 'fd00::/120']);
    expect(list.check('10.0.255.255', 'ipv4')).toBe(true);
    expect(list.check('10.1.0.0', 'ipv4')).toBe(false);
    expect(list.check('192.255.0.1', 'ipv4')).toBe(true); // "08" is 8
    expect(list.check('fd00::ff', 'ipv6')).toBe(true);
    expect(list.check('fd00::100', 'ipv6')).toBe(false);
  });

  it("names that are Object's own members are no named range: the usual error, not a TypeError", () => {
    for (const entry of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      expect(() => trustList([entry]), entry).toThrow(new ConfigError(`trusted_proxies: "${entry}" is not an IP address or CIDR (e.g. 10.0.0.0/8, fd00::/8, loopback)`));
    }
  });
});

describe('IPv4-mapped addresses', () => {
  it('are mapped only when each of the first five groups is zero and the sixth is ffff', () => {
    // One spelling per group that breaks the prefix: a client cannot pass for an IPv4 address (and share its budget).
    expect(canonicalIpv6('0:1:0:0:0:ffff:102:304')).toBe('0:1::ffff:102:304');
    expect(canonicalIpv6('1:0:0:0:0:ffff:102:304')).toBe('1::ffff:102:304');
    expect(canonicalIpv6('0:0:0:0:0:0:102:304')).toBe('::102:304'); // IPv4-compatible (deprecated), not mapped
    expect(canonicalIpv6('0:0:0:0:0:fffe:102:304')).toBe('::fffe:102:304');
    expect(canonicalIpv6('::ffff:0:0')).toBe('0.0.0.0');
  });
});

describe('the trust cache', () => {
  const list = () => {
    const l = new BlockList();
    l.addSubnet('10.0.0.0', 8, 'ipv4');
    return l;
  };

  it("answers as the list does, for each family", () => {
    const l = list();
    l.addSubnet('fd00::', 8, 'ipv6');
    const trusted = trustCache(l);
    expect([trusted('10.1.2.3'), trusted('11.0.0.1'), trusted('fd00::1'), trusted('fe00::1')]).toEqual([true, false, true, false]);
    expect([trusted('10.1.2.3'), trusted('11.0.0.1'), trusted('fd00::1'), trusted('fe00::1')]).toEqual([true, false, true, false]);
  });

  it('keeps an answer once given (a list never changes under one cache: a reload builds a new one)', () => {
    // The list is changed behind the cache's back only to see whether the cache asks it again.
    const l = list();
    const trusted = trustCache(l);
    expect(trusted('192.0.2.1')).toBe(false);
    l.addAddress('192.0.2.1', 'ipv4');
    expect(trusted('192.0.2.1')).toBe(false);
    expect(trustCache(l)('192.0.2.1')).toBe(true);
  });

  it('holds at most `size` answers, dropping the oldest first', () => {
    const l = list();
    const trusted = trustCache(l, 2);
    trusted('192.0.2.1');
    trusted('192.0.2.2');
    trusted('192.0.2.3'); // the third answer drops the first
    l.addAddress('192.0.2.1', 'ipv4');
    l.addAddress('192.0.2.2', 'ipv4');
    l.addAddress('192.0.2.3', 'ipv4');
    // 192.0.2.1 was dropped and is asked again (true); 2 and 3 are still cached (false).
    expect(trusted('192.0.2.3')).toBe(false);
    expect(trusted('192.0.2.2')).toBe(false);
    expect(trusted('192.0.2.1')).toBe(true);
  });
});

describe('a bad trusted-proxy entry in a policy file', () => {
  it('is a configuration error, so a reload is refused with its reason (before: a plain Error the reload did not catch)', () => {
    const policy = loadPolicyText('rules: [{ name: a, limit: 1/1s }]\nsubject:\n  trusted_proxies: ["10.0.0.0/"]\n', 'p.yaml');
    let err: unknown;
    try {
      checkGatewayPolicy(policy);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PolicyError);
    expect((err as PolicyError).issues).toEqual([{ path: '', message: 'trusted_proxies: "10.0.0.0/" has a bad prefix length (0-32)', file: 'p.yaml' }]);
    expect(() => trustList(['proxy.local'])).toThrow(ConfigError);
  });
});
