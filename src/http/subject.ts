import { createHash, createHmac, createPublicKey, timingSafeEqual, verify as verifySignature, type KeyObject } from 'node:crypto';
import type { CompiledRoute, Subject } from '../policy/compiled.js';
import { ConfigError } from '../policy/errors.js';
import { compileClientIp, ForwardedForConflict, type IpPrefix } from './client-ip.js';

export { canonicalIpv6, compileClientIp, ForwardedForConflict, ipNetwork, normalizeIp, trustList, type IpPrefix } from './client-ip.js';

/**
 * How a request becomes a subject, the attributes rules and caps match on.
 *
 * Precedence, lowest first: the route table (api, route, path params, `set`), the
 * config's static `set`, plain headers, the API-key table, then verified JWT claims.
 * Plain headers are whatever the caller sent, so identity that was proven (a known
 * API key, a signed token) wins over them.
 */
export interface SubjectConfig {
  /** Header name → attribute, e.g. { 'x-account-id': 'account' }. */
  headers?: Record<string, string>;
  /** Static attributes added to every subject. */
  set?: Record<string, string | number | boolean>;
  apiKeys?: {
    /** Where the key is read from (default x-api-key). "authorization" reads a Bearer token. */
    header?: string;
    /** key → attributes. A key written "sha256:<hex>" is compared by its SHA-256 digest. */
    keys: Record<string, Record<string, string | number | boolean>>;
    /** Refuse requests without a key (401). An unknown key is always refused. */
    required?: boolean;
  };
  jwt?: {
    /** Where the token is read from (default authorization, "Bearer <token>"). */
    header?: string;
    /** claim → attribute, e.g. { sub: 'user', tenant_id: 'tenant' }; dotted claims reach into objects. */
    claims: Record<string, string>;
    /** HS256 shared secret. */
    secret?: string;
    /** RS256 public key (PEM). */
    publicKey?: string;
    issuer?: string;
    audience?: string;
    /** Clock skew allowed on exp/nbf, in seconds (default 30). */
    leewaySeconds?: number;
    /**
     * true: every request needs a valid JWT (401 without one). false (default): a request
     * without a bearer token, or with an opaque one that is not a JWT (the app's own
     * tokens), passes without claims and is left to the app. A JWT is always verified, and
     * a bad one (signature, expiry, issuer, audience) is always refused.
     */
    required?: boolean;
    /**
     * Only when no key is configured: use claims from tokens that an earlier hop already
     * verified. Without a key and without this flag, configuring jwt is an error.
     */
    trustUnverified?: boolean;
  };
  /**
   * Peers whose X-Forwarded-For is believed: CIDRs ("10.0.0.0/8", "fd00::/8"), single
   * addresses, or the names loopback, private, linklocal. Without this list the client
   * IP is always the socket peer and X-Forwarded-For is ignored.
   */
  trustedProxies?: string[];
  /** The attribute the client IP goes in (default ip). */
  ipAttribute?: string;
  /**
   * Key on the client's network rather than its address: { v6: 64 } puts "2001:db8:1:2::/64"
   * in the ip attribute for every address of that /64 (see ./client-ip.ts). Default: the address.
   */
  ipPrefix?: IpPrefix;
}

/** The parts of a request a subject is derived from, whatever the framework. */
export interface RequestInfo {
  method: string;
  /** Path with optional query string. */
  url: string;
  /** Node's lower-cased header record, or a Fetch Headers object. */
  headers: NodeHeaders | { get(name: string): string | null };
  /** The socket peer address. */
  remoteAddress: string | undefined;
  /** The X-Forwarded-For header lines as received, when the front door sees them apart (node: req.headersDistinct). */
  forwardedFor?: readonly string[];
  /** The header lines as received (node: req.rawHeaders), to tell a repeated header from one line holding a comma. */
  rawHeaders?: readonly string[];
}

export type NodeHeaders = Record<string, string | string[] | undefined>;

/** The request cannot be given a trustworthy subject: answered with its status (401). */
export class SubjectError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'SubjectError';
  }
}

export type SubjectDeriver = (req: RequestInfo) => Subject;

/** Compiles the config and route table once; the returned function runs per request. */
export function compileSubject(config: SubjectConfig = {}, routes: readonly CompiledRoute[] = [], clock: () => number = Date.now): SubjectDeriver {
  const routeTable = compileRoutes(routes);
  const headerPairs = Object.entries(config.headers ?? {}).map(([h, a]) => [h.toLowerCase(), a] as const);
  const fixed = config.set ? Object.entries(config.set) : [];
  const apiKeys = config.apiKeys ? compileApiKeys(config.apiKeys) : undefined;
  const jwt = config.jwt ? compileJwt(config.jwt, clock) : undefined;
  const clientIp = compileClientIp(config.trustedProxies ?? [], config.ipPrefix);
  const ipAttr = config.ipAttribute ?? 'ip';

  return (req) => {
    const subject: Record<string, string | number | boolean> = {};
    const path = routingPath(req.url);
    subject.method = req.method;
    subject.path = routeKey(path); // as routes match it: a rule on `path` binds every spelling a route does
    if (routeTable) routeTable(req.method, path, subject);
    for (let i = 0; i < fixed.length; i++) subject[fixed[i][0]] = fixed[i][1];
    for (let i = 0; i < headerPairs.length; i++) {
      const v = headerOf(req.headers, headerPairs[i][0]);
      if (v === undefined || v === '') continue;
      // Node joins repeated lines with ", ": "acme, acme" would be a bucket of its own while an
      // upstream reading the first line serves acme. An identity header must come once.
      if (req.rawHeaders && v.includes(',') && headerLines(req.rawHeaders, headerPairs[i][0]) > 1) {
        throw new SubjectError(400, 'repeated_header', `header ${headerPairs[i][0]} was sent more than once; it names the ${headerPairs[i][1]} limits are kept for, so send it once`);
      }
      subject[headerPairs[i][1]] = v;
    }
    if (apiKeys) apiKeys(req.headers, subject);
    if (jwt) jwt(req.headers, subject);
    let ip: string | undefined;
    try {
      ip = clientIp(req.remoteAddress, req.headers, req.forwardedFor);
    } catch (e) {
      // Stryker disable next-line ConditionalExpression: clientIp throws nothing but ForwardedForConflict (the check keeps a future error from becoming a 400)
      if (e instanceof ForwardedForConflict) throw new SubjectError(400, 'conflicting_forwarded_for', e.message);
      throw e;
    }
    if (ip) subject[ipAttr] = ip;
    return subject;
  };
}

function headerLines(raw: readonly string[], name: string): number {
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) {
    if (
      // Stryker disable next-line ConditionalExpression: the length test only skips lower-casing a name that cannot be equal
      raw[i].length === name.length &&
      raw[i].toLowerCase() === name
    )
      n++;
  }
  return n;
}

export function headerOf(headers: RequestInfo['headers'], name: string): string | undefined {
  if (typeof (headers as { get?: unknown }).get === 'function') return (headers as { get(n: string): string | null }).get(name) ?? undefined;
  const v = (headers as NodeHeaders)[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

// ---- routes ----

type RouteTable = (method: string, path: string, into: Record<string, string | number | boolean>) => void;

/**
 * Route patterns: literal segments, `:name` (one segment, captured as an attribute) and a
 * trailing `*` (the rest). The first matching route wins, in policy order. Exact paths are
 * looked up in a map; patterns with parameters are tried in order after that. Literal segments
 * match in any case (parameters keep the case sent), and a GET route matches HEAD.
 * Not find-my-way: it picks the most specific route (static, then parameter, then wildcard),
 * where a policy's routes are documented to win in the order they are written.
 */
export function compileRoutes(routes: readonly CompiledRoute[]): RouteTable | undefined {
  if (routes.length === 0) return undefined;
  const compiled = routes.map((r, order) => {
    const params: string[] = [];
    const segs = r.path.split('/');
    const isStatic = !segs.some((s) => s.startsWith(':') || s === '*');
    const re = new RegExp(
      '^' +
        segs
          .map((s, i) => {
            if (s === '*' && i === segs.length - 1) return '(?:.*)';
            if (s.startsWith(':')) {
              params.push(s.slice(1));
              return '([^/]+)';
            }
            return s.replace(/[.+?^${}()|[\]\\*]/g, '\\$&');
          })
          .join('/') +
        '/?$',
      'i',
    );
    return { order, route: r, re, params, isStatic };
  });
  const exact = new Map<string, (typeof compiled)[number][]>();
  for (const c of compiled) {
    // Stryker disable next-line ConditionalExpression: a pattern found by its own spelling is found again by the pattern loop (same order), which sets its captures
    if (!c.isStatic) continue;
    const p = routeKey(c.route.path);
    const list = exact.get(p) ?? [];
    list.push(c);
    exact.set(p, list);
  }
  const patterns = compiled.filter((c) => !c.isStatic);
  // A GET route is a HEAD route too, and paths match whatever their case: Express (by default),
  // Fastify's HEAD routes and many upstreams serve those spellings with the same handler, so a
  // limit bound to the route must bind them too (before: POST /PA/LOGIN got past the lockout).
  const allows = (methods: ReadonlySet<string> | undefined, method: string) => !methods || methods.has(method) || (method === 'HEAD' && methods.has('GET'));
  return (method, path, into) => {
    const key = routeKey(path);
    let best: (typeof compiled)[number] | undefined;
    let m: RegExpExecArray | null = null;
    const statics = exact.get(key);
    if (statics) for (const c of statics) if (allows(c.route.methods, method)) { best = c; break; }
    for (const c of patterns) {
      // Stryker disable next-line EqualityOperator: no two routes share an order (< and <= agree)
      if (best && best.order < c.order) break;
      if (!allows(c.route.methods, method)) continue;
      const hit = c.re.exec(path);
      if (hit) {
        best = c;
        m = hit;
        break;
      }
    }
    if (!best) return;
    into.api = best.route.api;
    into.route = best.route.path;
    // Stryker disable next-line ConditionalExpression: m is null only for a static route, which has no params (the loop runs 0 times)
    if (m) for (let i = 0; i < best.params.length; i++) into[best.params[i]] = safeDecode(m[i + 1]);
    // Stryker disable next-line ConditionalExpression: for-in over undefined runs 0 times
    if (best.route.set) for (const k in best.route.set) into[k] = best.route.set[k];
  };
}

/** A routing path as routes compare it: in lower case, without a trailing `/`. */
export function routeKey(path: string): string {
  return (path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path).toLowerCase();
}

/**
 * The path as routers read it: up to `?` or `#` (a request line may carry a fragment, which
 * every Node server drops), and percent-escapes decoded but for `/` and `%` themselves (kept
 * as %2F and %25), as Fastify and Hono decode `/pa/%6Cogin` to /pa/login before routing.
 * Parameters are then decoded once, as before.
 */
export function routingPath(url: string): string {
  let end = url.length;
  // Stryker disable next-line EqualityOperator: charCodeAt(url.length) is NaN, neither ? nor #
  for (let i = 0; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 0x3f || c === 0x23) {
      end = i;
      break;
    }
  }
  // Stryker disable next-line ConditionalExpression: url.slice(0, url.length) is url; the test only skips a copy
  const path = end === url.length ? url : url.slice(0, end);
  // Stryker disable next-line ConditionalExpression,StringLiteral: decoding a path without escapes gives the path (a shortcut; this also skips the `true` twin, which the decoding tests kill)
  if (path.indexOf('%') < 0) return path;
  return path
    .split('/')
    .map((seg) => {
      const d = safeDecode(seg);
      return d === seg ? seg : d.replace(/%/g, '%25').replace(/\//g, '%2F');
    })
    .join('/');
}

function safeDecode(s: string): string {
  // Most path parameters have no escapes; decodeURIComponent costs ~5% of a replayed log line.
  // Stryker disable next-line ConditionalExpression,StringLiteral: decodeURIComponent of text without escapes is the text (a shortcut)
  if (s.indexOf('%') < 0) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

// ---- API keys ----

function compileApiKeys(cfg: NonNullable<SubjectConfig['apiKeys']>): (h: RequestInfo['headers'], into: Record<string, string | number | boolean>) => void {
  const header = (cfg.header ?? 'x-api-key').toLowerCase();
  const plain = new Map<string, Record<string, string | number | boolean>>();
  const hashed = new Map<string, Record<string, string | number | boolean>>();
  for (const [k, attrs] of Object.entries(cfg.keys)) {
    if (k.startsWith('sha256:')) hashed.set(k.slice(7).toLowerCase(), attrs);
    else plain.set(k, attrs);
  }
  return (h, into) => {
    let key = headerOf(h, header);
    // Stryker disable next-line ConditionalExpression: bearer(undefined) is undefined too (its regex does not match "undefined")
    if (key !== undefined && header === 'authorization') key = bearer(key);
    if (key === undefined || key === '') {
      if (cfg.required) throw new SubjectError(401, 'api_key_required', `An API key is required in the ${header} header.`);
      return;
    }
    const attrs = plain.get(key) ?? (hashed.size ? hashed.get(createHash('sha256').update(key).digest('hex')) : undefined);
    if (!attrs) throw new SubjectError(401, 'invalid_api_key', 'The API key is not recognised.');
    for (const a in attrs) into[a] = attrs[a];
  };
}

function bearer(v: string): string | undefined {
  // Stryker disable next-line Regex: once the test matched at 0, replace strips the same prefix and trim() any further spaces; \s+ and \s test alike (the ^-less test regex is caught by 'Basic bearer k')
  return /^bearer\s+/i.test(v) ? v.replace(/^bearer\s+/i, '').trim() : undefined;
}

// ---- JWT ----

function compileJwt(cfg: NonNullable<SubjectConfig['jwt']>, clock: () => number): (h: RequestInfo['headers'], into: Record<string, string | number | boolean>) => void {
  const header = (cfg.header ?? 'authorization').toLowerCase();
  if (cfg.secret !== undefined && cfg.publicKey !== undefined) throw new ConfigError('subject.jwt: give either secret (HS256) or publicKey (RS256), not both');
  let publicKey: KeyObject | undefined;
  if (cfg.publicKey !== undefined) {
    try {
      publicKey = createPublicKey(cfg.publicKey);
    } catch (e) {
      throw new ConfigError(`subject.jwt.public_key: not a PEM public key (${(e as Error).message})`);
    }
  }
  // As the policy schema asks of a secret written in the file; one from secret_env or a library caller gets the same check.
  if (cfg.secret !== undefined && cfg.secret.length < 16) throw new ConfigError(`subject.jwt: an HS256 secret needs at least 16 characters (this one has ${cfg.secret.length}); e.g. $(openssl rand -hex 32)`);
  const secret = cfg.secret !== undefined ? Buffer.from(cfg.secret) : undefined;
  if (!secret && !publicKey && !cfg.trustUnverified) {
    throw new ConfigError('subject.jwt: configure secret (HS256) or publicKey (RS256); set trustUnverified only when an earlier hop verifies tokens');
  }
  // The accepted algorithm follows the configured key, never the token's own claim (no "none", no alg confusion).
  const alg = secret ? 'HS256' : publicKey ? 'RS256' : undefined;
  const leewayMs = (cfg.leewaySeconds ?? 30) * 1000;
  const claims = Object.entries(cfg.claims).map(([c, a]) => [c.split('.'), a] as const);
  const refuse = (why: string): never => {
    throw new SubjectError(401, 'invalid_token', `The bearer token was refused: ${why}.`);
  };

  return (h, into) => {
    const raw = headerOf(h, header);
    const token = raw === undefined ? undefined : header === 'authorization' ? bearer(raw) : raw.trim();
    if (!token) {
      if (cfg.required) throw new SubjectError(401, 'token_required', `A bearer token is required in the ${header} header.`);
      return;
    }
    const parts = token.split('.');
    const head = parts.length === 3 ? jwtHeader(parts[0]) : undefined;
    if (head === undefined) {
      // An opaque token (the app's own): not ours to judge unless every request must carry a JWT.
      if (cfg.required) refuse('not a JWT');
      return;
    }
    let payload: Record<string, unknown>;
    try {
      payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    }
    // Stryker disable next-line BlockStatement: without the catch's return, payload is undefined and the next line refuses it with the same reason
    catch {
      return refuse('malformed payload');
    }
    if (payload === null || typeof payload !== 'object') refuse('malformed payload');
    if (alg) {
      if (head.alg !== alg) refuse(`algorithm ${String(head.alg)} is not accepted (expected ${alg})`);
      const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
      const sig = Buffer.from(parts[2], 'base64url');
      let ok: boolean;
      if (secret) {
        const want = createHmac('sha256', secret).update(signed).digest();
        ok = sig.length === want.length && timingSafeEqual(sig, want);
      } else {
        ok = verifySignature('RSA-SHA256', signed, publicKey!, sig);
      }
      if (!ok) refuse('bad signature');
    }
    const now = clock();
    if (typeof payload.exp === 'number' && payload.exp * 1000 + leewayMs <= now) refuse('expired');
    if (typeof payload.nbf === 'number' && payload.nbf * 1000 - leewayMs > now) refuse('not yet valid');
    if (cfg.issuer !== undefined && payload.iss !== cfg.issuer) refuse('wrong issuer');
    if (cfg.audience !== undefined) {
      const aud = payload.aud;
      if (!(aud === cfg.audience || (Array.isArray(aud) && aud.includes(cfg.audience)))) refuse('wrong audience');
    }
    for (const [path, attr] of claims) {
      let v: unknown = payload;
      for (const p of path) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[p] : undefined;
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') into[attr] = v;
    }
  };
}

/** A JWT's decoded header (a JSON object naming an alg), or undefined when the token is not a JWT. */
function jwtHeader(part: string): { alg?: unknown } | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(part)) return undefined;
  try {
    const head: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    // Stryker disable next-line ConditionalExpression,LogicalOperator: `'alg' in` throws on null and primitives, and the catch below answers undefined as these checks do
    return head !== null && typeof head === 'object' && 'alg' in head ? (head as { alg?: unknown }) : undefined;
  }
  // Stryker disable next-line BlockStatement: an empty catch returns undefined as well
  catch {
    return undefined;
  }
}
