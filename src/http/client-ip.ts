import { BlockList, isIP } from 'node:net';
import { ConfigError } from '../policy/errors.js';

/**
 * The client IP of an HTTP request, as rules key on it (`key: [ip]`).
 *
 *  - One client, one spelling: addresses are written canonically (RFC 5952: lower case,
 *    no leading zeros, the longest run of zero groups as "::"), and IPv4-mapped IPv6
 *    (::ffff:1.2.3.4, ::ffff:102:304) is the IPv4 address. Before, four spellings of one
 *    IPv6 address were four clients with four budgets.
 *  - Optionally a network instead of an address (`ip_prefix: { v6: 64 }`): one host
 *    holding a /64 cannot rotate through 2^64 addresses to reset its limit.
 *  - X-Forwarded-For is believed only from a trusted peer, read right to left through
 *    trusted hops (rightmost-untrusted). Repeated X-Forwarded-For header lines are one
 *    list (RFC 9110 §5.3), but a proxy may add its own line before or after the client's,
 *    so a client could steer the answer by adding a line ("[real][spoof]": 20 of 20
 *    admitted on a 2/8h rule before). The answer must therefore not depend on the order
 *    of the lines: it is computed for the lines as received and in reverse order, and
 *    when the two differ the request is refused (400) rather than keyed on a guess.
 *
 * The `proxy-addr` package (Express's) was considered: it reads only the joined header
 * (so it has the same weakness with repeated lines), needs a node request object (the
 * Hono adapter has none) and parses with ipaddr.js, slower than node's BlockList here.
 */

export interface IpPrefix {
  /** Prefix length for IPv4 clients, 0–32 (default 32: the address). */
  v4?: number;
  /** Prefix length for IPv6 clients, 0–128 (default 128: the address); 64 keys one host's usual allocation. */
  v6?: number;
}

/** Repeated X-Forwarded-For lines that give different clients depending on their order: refused with 400. */
export class ForwardedForConflict extends Error {
  constructor(readonly lines: readonly string[]) {
    super('The X-Forwarded-For header was sent more than once, and its lines name different clients depending on their order; send one X-Forwarded-For header.');
    this.name = 'ForwardedForConflict';
  }
}

// A Map, not an object: "constructor" or "__proto__" in a list would find Object's members (a TypeError, not the error below).
const NAMED_RANGES = new Map<string, [string, number, 'ipv4' | 'ipv6'][]>([
  ['loopback', [['127.0.0.0', 8, 'ipv4'], ['::1', 128, 'ipv6']]],
  ['private', [['10.0.0.0', 8, 'ipv4'], ['172.16.0.0', 12, 'ipv4'], ['192.168.0.0', 16, 'ipv4'], ['fc00::', 7, 'ipv6']]],
  ['linklocal', [['169.254.0.0', 16, 'ipv4'], ['fe80::', 10, 'ipv6']]],
]);

/** Parses a trusted-proxy list into a BlockList (used as an allow list); throws a ConfigError on a bad entry (a reload is then refused with it). */
export function trustList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const named = NAMED_RANGES.get(entry.toLowerCase());
    if (named) {
      for (const [net, prefix, type] of named) list.addSubnet(net, prefix, type);
      continue;
    }
    const [addr, bits, ...more] = entry.split('/');
    const family = isIP(addr);
    if (family === 0) throw new ConfigError(`trusted_proxies: "${entry}" is not an IP address or CIDR (e.g. 10.0.0.0/8, fd00::/8, loopback)`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    const max = family === 4 ? 32 : 128;
    // Digits only: Number('') is 0, so "10.0.0.0/" was a /0 that trusted every peer (any client could name its own IP).
    const prefix = bits === undefined ? max : /^\d+$/.test(bits) && more.length === 0 ? Number(bits) : NaN;
    if (!Number.isInteger(prefix) || prefix > max) throw new ConfigError(`trusted_proxies: "${entry}" has a bad prefix length (0-${max})`);
    list.addSubnet(addr, prefix, type);
  }
  return list;
}

/**
 * An address as written in a header or by the socket, canonical; undefined when it is none.
 * Strips brackets and ports ("[::1]:80", "1.2.3.4:5") and zone ids ("fe80::1%eth0").
 */
export function normalizeIp(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  let s = raw.trim();
  if (s.startsWith('[')) {
    const end = s.indexOf(']');
    // Stryker disable next-line EqualityOperator: s starts with '[', so ']' is never at 0 (end > 0 and end >= 0 agree)
    s = end > 0 ? s.slice(1, end) : s;
  } else if (
    // Stryker disable next-line EqualityOperator: a string starting with ':' holding one colon is no address, cut at it or not
    s.indexOf(':') > 0 &&
    s.indexOf(':') === s.lastIndexOf(':') &&
    // Stryker disable next-line StringLiteral: one colon and no dot is no address either, cut at the colon or not
    s.includes('.')
  ) {
    s = s.slice(0, s.indexOf(':'));
  }
  const zone = s.indexOf('%');
  // Stryker disable next-line EqualityOperator: a string starting with '%' is no address, cut at it or not (zone > 0 and >= 0 agree)
  if (zone > 0) s = s.slice(0, zone);
  const family = isIP(s);
  if (family === 4) return s;
  if (family === 6) return canonicalIpv6(s);
  return undefined;
}

/** The 8 groups of a valid IPv6 address (node's isIP already said it is one). */
function groupsOf(s: string): number[] {
  let text = s;
  if (text.includes('.')) {
    // embedded IPv4 in the last 32 bits: rewrite it as two hex groups
    const at = text.lastIndexOf(':');
    const [a, b, c, d] = text.slice(at + 1).split('.').map(Number);
    text = `${text.slice(0, at + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((h) => parseInt(h, 16)));
  const gap = text.indexOf('::');
  if (gap < 0) return parse(text);
  const head = parse(text.slice(0, gap));
  const rest = parse(text.slice(gap + 2));
  return [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
}

/** RFC 5952 text of an IPv6 address; an IPv4-mapped address (::ffff:a.b.c.d) is the IPv4 address. */
export function canonicalIpv6(s: string): string {
  return formatIpv6(groupsOf(s));
}

function formatIpv6(g: number[]): string {
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `${g[6] >> 8}.${g[6] & 255}.${g[7] >> 8}.${g[7] & 255}`;
  }
  // the longest run of two or more zero groups (the first of equals) becomes "::"
  let best = -1;
  let bestLen = 1;
  // Stryker disable next-line EqualityOperator: g[8] is undefined, not 0, so i = 8 only steps past the end
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: g[8] is undefined, not 0, so the run stops at the end without the bound
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number) => g.slice(from, to).map((n) => n.toString(16)).join(':');
  if (best < 0) return hex(0, 8);
  return `${hex(0, best)}::${hex(best + bestLen, 8)}`;
}

/** The network of a canonical address at a prefix length: "2001:db8:1:2::/64", "203.0.113.0/24"; the address itself at full length. */
export function ipNetwork(ip: string, prefix: IpPrefix): string {
  const v6 = ip.includes(':');
  const bits = v6 ? (prefix.v6 ?? 128) : (prefix.v4 ?? 32);
  if (bits === (v6 ? 128 : 32)) return ip;
  if (!v6) {
    const n = ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
    // Stryker disable next-line ConditionalExpression: at bits 0 the general mask is 0 too (n < 2^32); the branch only says so
    const masked = bits === 0 ? 0 : Math.floor(n / 2 ** (32 - bits)) * 2 ** (32 - bits);
    return `${[24, 16, 8, 0].map((sh) => Math.floor(masked / 2 ** sh) % 256).join('.')}/${bits}`;
  }
  const g = groupsOf(ip);
  // Stryker disable next-line EqualityOperator: a ninth group (keep 0, so 0) is never read: formatIpv6 reads g[0..7]
  for (let i = 0; i < 8; i++) {
    const keep = Math.max(0, Math.min(16, bits - i * 16));
    // Stryker disable next-line ConditionalExpression: at keep 0 the mask (0xffff << 16) & 0xffff is 0 too; the branch only says so
    g[i] = keep === 0 ? 0 : g[i] & (0xffff << (16 - keep)) & 0xffff;
  }
  return `${formatIpv6(g)}/${bits}`;
}

type Headers = Record<string, string | string[] | undefined> | { get(name: string): string | null };

/** Addresses whose answer a trust cache keeps (the oldest goes first): a few hundred KB at most. */
export const TRUST_CACHE_SIZE = 4096;

/**
 * `list.check` with a bounded cache of its answers (address → trusted?). BlockList.check was
 * about 26% of a simulated log line's time with trusted_proxies set (issue 15), asked again for
 * the same few proxy addresses on every line. An answer never changes under one list; a policy
 * reload compiles a new list, and with it a new, empty cache (compileSubject, Enforcer.refresh).
 * A flood of distinct addresses costs a check each, never memory beyond the bound.
 */
export function trustCache(list: BlockList, size = TRUST_CACHE_SIZE): (ip: string) => boolean {
  const known = new Map<string, boolean>();
  return (ip) => {
    let trusted = known.get(ip);
    if (trusted === undefined) {
      trusted = list.check(ip, ip.includes(':') ? 'ipv6' : 'ipv4');
      if (known.size >= size) known.delete(known.keys().next().value!);
      known.set(ip, trusted);
    }
    return trusted;
  };
}

/**
 * Compiles the trusted-proxy list once; the function runs per request. `lines` are the
 * X-Forwarded-For header lines as received, when the front door can see them apart
 * (node's req.headersDistinct); otherwise the joined header is read from `headers`.
 * Throws ForwardedForConflict (answer 400) for lines whose order would change the client.
 */
export function compileClientIp(
  trusted: readonly string[],
  prefix?: IpPrefix,
): (remote: string | undefined, headers: Headers, lines?: readonly string[]) => string | undefined {
  // Stryker disable next-line ConditionalExpression: ipNetwork with neither length set is the address, so the check only skips a call
  const network = prefix && (prefix.v4 !== undefined || prefix.v6 !== undefined) ? (ip: string | undefined) => (ip === undefined ? ip : ipNetwork(ip, prefix)) : (ip: string | undefined) => ip;
  // Stryker disable next-line ConditionalExpression: an empty trust list trusts no peer, so the general path gives the same answer
  if (trusted.length === 0) return (remote) => network(normalizeIp(remote));
  const isTrusted = trustCache(trustList(trusted));
  const walk = (peer: string, hops: string[]): string => {
    let client = peer;
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = normalizeIp(hops[i]);
      if (!hop) break; // garbage: stop at the last hop we could vouch for
      client = hop;
      if (!isTrusted(hop)) break;
    }
    return client;
  };
  return (remote, headers, lines) => {
    const peer = normalizeIp(remote);
    if (!peer || !isTrusted(peer)) return network(peer);
    if (lines && lines.length > 1) {
      const forward = walk(peer, lines.join(',').split(','));
      const backward = walk(peer, [...lines].reverse().join(',').split(','));
      if (forward !== backward) throw new ForwardedForConflict(lines);
      return network(forward);
    }
    const xff = headerValue(headers, 'x-forwarded-for');
    return network(xff ? walk(peer, xff.split(',')) : peer);
  };
}

function headerValue(headers: Headers, name: string): string | undefined {
  if (typeof (headers as { get?: unknown }).get === 'function') return (headers as { get(n: string): string | null }).get(name) ?? undefined;
  const v = (headers as Record<string, string | string[] | undefined>)[name];
  return Array.isArray(v) ? v.join(', ') : v;
}
