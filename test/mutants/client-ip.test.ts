import { describe, expect, it } from 'vitest';
import { canonicalIpv6, compileClientIp, ForwardedForConflict, ipNetwork, normalizeIp, trustList } from '../../src/http/client-ip.js';
import { ConfigError } from '../../src/policy/errors.js';

/** The client IP rules at their edges: range ends, prefix lengths, the rightmost-untrusted walk. */
describe('trusted-proxy lists', () => {
  const inList = (entries: string[], ip: string) => trustList(entries).check(ip, ip.includes(':') ? 'ipv6' : 'ipv4');

  it('named ranges cover exactly their networks, in any case', () => {
    expect(inList(['loopback'], '127.255.255.255')).toBe(true);
    expect(inList(['LOOPBACK'], '127.0.0.1')).toBe(true);
    expect(inList(['loopback'], '::1')).toBe(true);
    expect(inList(['loopback'], '128.0.0.1')).toBe(false);
    expect(inList(['loopback'], '::2')).toBe(false);
    expect(inList(['private'], '10.255.0.1')).toBe(true);
    expect(inList(['private'], '172.16.0.0')).toBe(true);
    expect(inList(['private'], '172.31.255.255')).toBe(true);
    expect(inList(['private'], '172.32.0.0')).toBe(false);
    expect(inList(['private'], '172.15.255.255')).toBe(false);
    expect(inList(['private'], '192.168.7.7')).toBe(true);
    expect(inList(['private'], '192.169.0.1')).toBe(false);
    expect(inList(['private'], 'fd00::1')).toBe(true);
    expect(inList(['private'], 'fc00::1')).toBe(true);
    expect(inList(['private'], 'fe00::1')).toBe(false);
    expect(inList(['private'], '11.0.0.1')).toBe(false);
    expect(inList(['linklocal'], '169.254.1.1')).toBe(true);
    expect(inList(['linklocal'], '169.255.1.1')).toBe(false);
    expect(inList(['linklocal'], 'febf::1')).toBe(true);
    expect(inList(['linklocal'], 'fec0::1')).toBe(false);
  });

  it('a bare address is a /32 or /128; a CIDR covers its prefix; prefixes 0 and the maximum are allowed', () => {
    expect(inList(['203.0.113.5'], '203.0.113.5')).toBe(true);
    expect(inList(['203.0.113.5'], '203.0.113.6')).toBe(false);
    expect(inList(['2001:db8::5'], '2001:db8::5')).toBe(true);
    expect(inList(['2001:db8::5'], '2001:db8::6')).toBe(false);
    expect(inList(['203.0.113.0/24'], '203.0.113.255')).toBe(true);
    expect(inList(['203.0.113.0/24'], '203.0.114.0')).toBe(false);
    expect(inList(['0.0.0.0/0'], '8.8.8.8')).toBe(true);
    expect(inList(['1.2.3.4/32'], '1.2.3.4')).toBe(true);
    expect(inList(['::/0'], '2001:db8::1')).toBe(true);
    expect(inList(['2001:db8::/128'], '2001:db8::')).toBe(true);
  });

  it('refuses a bad entry with a message that names it and the allowed range', () => {
    expect(() => trustList(['proxy.local'])).toThrow(new ConfigError('trusted_proxies: "proxy.local" is not an IP address or CIDR (e.g. 10.0.0.0/8, fd00::/8, loopback)'));
    expect(() => trustList(['10.0.0.0/33'])).toThrow(new ConfigError('trusted_proxies: "10.0.0.0/33" has a bad prefix length (0-32)'));
    expect(() => trustList(['fd00::/129'])).toThrow(new ConfigError('trusted_proxies: "fd00::/129" has a bad prefix length (0-128)'));
    expect(() => trustList(['10.0.0.0/-1'])).toThrow(/bad prefix length \(0-32\)/);
    expect(() => trustList(['10.0.0.0/8.5'])).toThrow(/bad prefix length/);
    expect(() => trustList(['10.0.0.0/x'])).toThrow(/bad prefix length/);
    expect(() => trustList(['fd00::/128'])).not.toThrow();
    expect(() => trustList(['10.0.0.0/32', '10.0.0.0/0'])).not.toThrow();
  });
});

describe('address spelling', () => {
  it('strips brackets with or without a port, an IPv4 port, a zone; keeps an unclosed bracket as garbage', () => {
    expect(normalizeIp('[::1]')).toBe('::1');
    expect(normalizeIp('[::1]:8080')).toBe('::1');
    expect(normalizeIp('[::1')).toBeUndefined();
    expect(normalizeIp('  1.2.3.4  ')).toBe('1.2.3.4');
    expect(normalizeIp('1.2.3.4:8080')).toBe('1.2.3.4');
    expect(normalizeIp('fe80::1%25eth0')).toBe('fe80::1');
    expect(normalizeIp('%eth0')).toBeUndefined();
    // A zone with a dot (a VLAN interface, eth0.5) is not read as an embedded IPv4 address.
    expect(normalizeIp('fe80::1%eth0.5')).toBe('fe80::1');
    expect(normalizeIp(undefined)).toBeUndefined();
    expect(normalizeIp('::')).toBe('::');
    // A colon-bearing IPv6 with an embedded IPv4 is not mistaken for "address:port".
    expect(normalizeIp('64:ff9b::1.2.3.4')).toBe('64:ff9b::102:304');
    expect(normalizeIp(':1.2.3.4')).toBeUndefined();
  });

  it('writes the longest zero run as "::" (only runs of two or more; the first of equal runs), lower case, no leading zeros', () => {
    expect(canonicalIpv6('2001:0DB8:0000:0000:0000:0000:0000:0001')).toBe('2001:db8::1');
    expect(canonicalIpv6('0:0:0:0:0:0:0:0')).toBe('::');
    expect(canonicalIpv6('0:0:0:0:0:0:0:1')).toBe('::1');
    expect(canonicalIpv6('1:0:0:0:0:0:0:0')).toBe('1::');
    expect(canonicalIpv6('1:0:0:2:0:0:0:3')).toBe('1:0:0:2::3'); // the longer run wins though it comes second
    expect(canonicalIpv6('1:0:0:2:0:0:3:4')).toBe('1::2:0:0:3:4');
    expect(canonicalIpv6('1:0:2:3:4:5:6:7')).toBe('1:0:2:3:4:5:6:7');
    expect(canonicalIpv6('0:0:0:0:0:ffff:102:304')).toBe('1.2.3.4');
    expect(canonicalIpv6('0:0:0:0:1:ffff:102:304')).toBe('::1:ffff:102:304'); // not IPv4-mapped
    expect(canonicalIpv6('1:0:0:0:0:ffff:102:304')).toBe('1::ffff:102:304');
    expect(canonicalIpv6('::ffff:255.254.253.252')).toBe('255.254.253.252');
    expect(canonicalIpv6('::fffe:1.2.3.4')).toBe('::fffe:102:304');
    // Mapped only when all of the first five groups are zero.
    expect(canonicalIpv6('0:0:1:0:0:ffff:102:304')).toBe('::1:0:0:ffff:102:304');
    expect(canonicalIpv6('0:0:0:1:0:ffff:102:304')).toBe('::1:0:ffff:102:304');
  });
});

describe('networks', () => {
  it('IPv4 prefixes mask the low bits; the full length is the address', () => {
    expect(ipNetwork('203.0.113.77', { v4: 32 })).toBe('203.0.113.77');
    expect(ipNetwork('203.0.113.77', { v4: 31 })).toBe('203.0.113.76/31');
    expect(ipNetwork('203.0.113.77', { v4: 16 })).toBe('203.0.0.0/16');
    expect(ipNetwork('203.0.113.77', { v4: 8 })).toBe('203.0.0.0/8');
    expect(ipNetwork('255.255.255.255', { v4: 1 })).toBe('128.0.0.0/1');
    expect(ipNetwork('255.255.255.255', { v4: 25 })).toBe('255.255.255.128/25');
    expect(ipNetwork('203.0.113.77', {})).toBe('203.0.113.77');
    expect(ipNetwork('2001:db8::1', { v4: 8 })).toBe('2001:db8::1');
  });

  it('IPv6 prefixes keep whole groups and the high bits of a split group', () => {
    expect(ipNetwork('2001:db8::1', { v6: 128 })).toBe('2001:db8::1');
    expect(ipNetwork('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', { v6: 127 })).toBe('ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127');
    expect(ipNetwork('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', { v6: 68 })).toBe('ffff:ffff:ffff:ffff:f000::/68');
    expect(ipNetwork('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', { v6: 16 })).toBe('ffff::/16');
    expect(ipNetwork('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', { v6: 0 })).toBe('::/0');
    expect(ipNetwork('2001:db8:abcd:1234::1', { v6: 40 })).toBe('2001:db8:ab00::/40');
    expect(ipNetwork('2001:db8::1', { v4: 24 })).toBe('2001:db8::1');
  });
});

describe('the client behind trusted proxies', () => {
  it('without a trust list: the peer, canonical, networked when a prefix is set', () => {
    const ip = compileClientIp([]);
    expect(ip('::FFFF:1.2.3.4', { 'x-forwarded-for': '9.9.9.9' })).toBe('1.2.3.4');
    expect(ip(undefined, {})).toBeUndefined();
    expect(compileClientIp([], { v4: 24 })('1.2.3.4', {})).toBe('1.2.3.0/24');
    expect(compileClientIp([], { v4: 24 })(undefined, {})).toBeUndefined();
    expect(compileClientIp([], {})('1.2.3.4', {})).toBe('1.2.3.4');
  });

  it('walks right to left through trusted hops and stops at the first untrusted one', () => {
    const ip = compileClientIp(['10.0.0.0/8']);
    expect(ip('10.0.0.1', { 'x-forwarded-for': '6.6.6.6, 198.51.100.7, 10.0.0.2' })).toBe('198.51.100.7');
    expect(ip('10.0.0.1', { 'x-forwarded-for': '198.51.100.7' })).toBe('198.51.100.7');
    // Every hop trusted: the leftmost one is the client.
    expect(ip('10.0.0.1', { 'x-forwarded-for': '10.0.0.9, 10.0.0.8' })).toBe('10.0.0.9');
    // Garbage stops the walk at the last hop that could be vouched for.
    expect(ip('10.0.0.1', { 'x-forwarded-for': '198.51.100.7, junk, 10.0.0.2' })).toBe('10.0.0.2');
    expect(ip('10.0.0.1', { 'x-forwarded-for': 'junk' })).toBe('10.0.0.1');
    // No header, or an empty one: the peer.
    expect(ip('10.0.0.1', {})).toBe('10.0.0.1');
    expect(ip('10.0.0.1', { 'x-forwarded-for': '' })).toBe('10.0.0.1');
    // An untrusted or missing peer is never asked.
    expect(ip('198.51.100.1', { 'x-forwarded-for': '6.6.6.6' })).toBe('198.51.100.1');
    expect(ip(undefined, { 'x-forwarded-for': '6.6.6.6' })).toBeUndefined();
    expect(ip('junk', { 'x-forwarded-for': '6.6.6.6' })).toBeUndefined();
  });

  it('reads a header array as one list, and a Fetch-style Headers object', () => {
    const ip = compileClientIp(['loopback']);
    expect(ip('127.0.0.1', { 'x-forwarded-for': ['198.51.100.7', '127.0.0.2'] })).toBe('198.51.100.7');
    expect(ip('127.0.0.1', new Headers({ 'x-forwarded-for': '198.51.100.7' }))).toBe('198.51.100.7');
    expect(ip('127.0.0.1', new Headers())).toBe('127.0.0.1');
    expect(ip('::1', { 'x-forwarded-for': '2001:DB8::7' })).toBe('2001:db8::7');
  });

  it('one line of several is read as the joined header; lines that agree in either order give that client, networked', () => {
    const ip = compileClientIp(['10.0.0.0/8'], { v4: 24 });
    expect(ip('10.0.0.1', {}, ['198.51.100.7, 10.0.0.2'])).toBe('10.0.0.0/24'); // one line: the (empty) joined header rules
    expect(ip('10.0.0.1', { 'x-forwarded-for': '198.51.100.7' }, ['198.51.100.7'])).toBe('198.51.100.0/24');
    expect(ip('10.0.0.1', {}, ['10.0.0.5', '198.51.100.7, 10.0.0.5'])).toBe('198.51.100.0/24');
    let err: unknown;
    try {
      ip('10.0.0.1', {}, ['198.51.100.7', '203.0.113.9']);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ForwardedForConflict);
    expect((err as ForwardedForConflict).name).toBe('ForwardedForConflict');
    expect((err as ForwardedForConflict).lines).toEqual(['198.51.100.7', '203.0.113.9']);
  });
});
