import type { FastifyInstance } from 'fastify';
import { errorBody, type ErrorBody } from '../http/errors.js';
import type { EnvoyUnit } from './config.js';
import type { EnvoyRateLimiter } from './limiter.js';
import { EnvoyRequestError, EnvoyStoreError, type Duration, type HeaderValue, type RateLimitDescriptor, type RateLimitRequest, type RateLimitResponse } from './types.js';

/**
 * POST /json, as envoyproxy/ratelimit serves it: a RateLimitRequest in the proto3 JSON
 * mapping (lowerCamelCase names; the proto's snake_case names are accepted too), answered
 * with the RateLimitResponse in the same mapping:
 *   200 overallCode OK, 429 overallCode OVER_LIMIT,
 *   400 { error: { code, message } } for a body that is no usable request,
 *   503 { error } when the store fails.
 * The route is registered in its own encapsulated scope, so the body parser it needs
 * (any content type: envoy's examples post with curl -d) does not leak into the app.
 */
export function registerEnvoyJson(app: FastifyInstance, limiter: EnvoyRateLimiter, opts: { path?: string; onError?: (error: unknown) => void } = {}): void {
  const path = opts.path ?? '/json';
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    scope.post(path, async (req, reply) => {
      const { status, body } = await decideJson(limiter, typeof req.body === 'string' ? req.body : '', opts.onError);
      return reply.code(status).send(body);
    });
  });
}

/**
 * Decides one /json body: the status and the JSON object to answer (200 OK, 429
 * OVER_LIMIT, 400 for an unusable request, 503 when the store fails). Used by the fastify
 * route above; the service's raw node:http path (src/server/routes/envoy-json.ts) takes
 * decideJsonText. Anything else thrown is a bug, for the caller's 500.
 */
export function decideJson(limiter: EnvoyRateLimiter, text: string, onError?: (error: unknown) => void): Promise<{ status: number; body: object }> {
  return decide(limiter, text, onError, responseToJson, asObject);
}

/** decideJson with the answer already as JSON text (responseJson), for the raw path. */
export function decideJsonText(limiter: EnvoyRateLimiter, text: string, onError?: (error: unknown) => void): Promise<{ status: number; body: string }> {
  return decide(limiter, text, onError, responseJson, asText);
}

/**
 * decideJsonText without the promise, for a limiter whose engine answers synchronously
 * (EnvoyRateLimiter.shouldRateLimitSync: memory, or SQLite flushed by the caller before it
 * answers): the same statuses and bodies (test/envoy/json-sync).
 */
export function decideJsonTextSync(limiter: EnvoyRateLimiter, text: string, onError?: (error: unknown) => void): { status: number; body: string } {
  let request: RateLimitRequest;
  try {
    request = parseJsonRequest(text);
  } catch (e) {
    return unparsable(e, asText);
  }
  try {
    return answered(limiter.shouldRateLimitSync(request), responseJson);
  } catch (e) {
    return failed(e, onError, asText);
  }
}

async function decide<T>(limiter: EnvoyRateLimiter, text: string, onError: ((error: unknown) => void) | undefined, render: (res: RateLimitResponse) => T, error: (body: ErrorBody) => T): Promise<{ status: number; body: T }> {
  let request: RateLimitRequest;
  try {
    request = parseJsonRequest(text);
  } catch (e) {
    return unparsable(e, error);
  }
  try {
    return answered(await limiter.shouldRateLimit(request), render);
  } catch (e) {
    return failed(e, onError, error);
  }
}

function unparsable<T>(e: unknown, error: (body: ErrorBody) => T): { status: number; body: T } {
  return { status: 400, body: error(errorBody(e instanceof SyntaxError ? 'invalid_json' : 'invalid_request', (e as Error).message)) };
}

function answered<T>(res: RateLimitResponse, render: (res: RateLimitResponse) => T): { status: number; body: T } {
  return { status: res.overall_code === 'OVER_LIMIT' ? 429 : 200, body: render(res) };
}

/** A decision that threw: 400 for an unusable request, 503 when the store fails; anything else is a bug, rethrown for the caller's 500. */
function failed<T>(e: unknown, onError: ((error: unknown) => void) | undefined, error: (body: ErrorBody) => T): { status: number; body: T } {
  if (e instanceof EnvoyRequestError) return { status: 400, body: error(errorBody(e.code, e.message)) };
  onError?.(e);
  if (e instanceof EnvoyStoreError) return { status: 503, body: error(errorBody(e.code, e.message)) };
  throw e;
}

const asObject = (body: ErrorBody): object => body;
const asText = (body: ErrorBody): string => JSON.stringify(body);

/** Parses a RateLimitRequest in the proto3 JSON mapping; unknown fields are errors, as in protojson. */
export function parseJsonRequest(text: string): RateLimitRequest {
  if (text.trim() === '') throw new EnvoyRequestError('the body is empty; send a RateLimitRequest as JSON: {"domain": "...", "descriptors": [{"entries": [{"key": "...", "value": "..."}]}]}');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new SyntaxError(`the body is not JSON: ${(e as Error).message}`, { cause: e });
  }
  // Hand-rolled readers, one per message (a for-in and a switch, no intermediate objects):
  // this runs once per /json request, and generic field maps cost about as much as the decision.
  const root = obj(raw, '');
  let domain: unknown;
  let hits: unknown;
  let descriptors: unknown;
  for (const k in root) {
    const v = root[k];
    if (k === 'domain') domain = v;
    else if (k === 'descriptors') descriptors = v;
    else if (k === 'hitsAddend' || k === 'hits_addend') hits = v;
    else unknownField('', k, ROOT_FIELDS);
  }
  if (descriptors === undefined || descriptors === null) descriptors = [];
  if (!Array.isArray(descriptors)) throw new EnvoyRequestError('descriptors is a list');
  const out: RateLimitDescriptor[] = new Array(descriptors.length);
  for (let i = 0; i < descriptors.length; i++) out[i] = readDescriptor(descriptors[i], i);
  return { domain: domain as string, hits_addend: hits as number | undefined, descriptors: out };
}

const ROOT_FIELDS = ['domain', 'descriptors', 'hitsAddend'];
const DESCRIPTOR_FIELDS = ['entries', 'limit', 'hitsAddend'];
const LIMIT_FIELDS = ['requestsPerUnit', 'unit'];
const ENTRY_FIELDS = ['key', 'value'];

function readDescriptor(d: unknown, i: number): RateLimitDescriptor {
  const o = obj(d, `descriptors[${i}]`);
  let entries: unknown;
  let limit: unknown;
  let hits: unknown;
  for (const k in o) {
    const v = o[k];
    if (k === 'entries') entries = v;
    else if (k === 'limit') limit = v;
    else if (k === 'hitsAddend' || k === 'hits_addend') hits = v;
    else unknownField(`descriptors[${i}]`, k, DESCRIPTOR_FIELDS);
  }
  if (entries === undefined || entries === null) entries = [];
  if (!Array.isArray(entries)) throw new EnvoyRequestError(`descriptors[${i}].entries is a list`);
  const read: { key: string; value: string }[] = new Array(entries.length);
  for (let j = 0; j < entries.length; j++) {
    const e = obj(entries[j], `descriptors[${i}].entries[${j}]`);
    let key: unknown;
    let value: unknown;
    for (const k in e) {
      if (k === 'key') key = e[k];
      else if (k === 'value') value = e[k];
      else unknownField(`descriptors[${i}].entries[${j}]`, k, ENTRY_FIELDS);
    }
    read[j] = { key: key as string, value: value as string };
  }
  const desc: RateLimitDescriptor = { entries: read };
  if (limit !== undefined && limit !== null) {
    const at = `descriptors[${i}].limit`;
    const l = obj(limit, at);
    let rpu: unknown;
    let unit: unknown;
    for (const k in l) {
      if (k === 'requestsPerUnit' || k === 'requests_per_unit') rpu = l[k];
      else if (k === 'unit') unit = l[k];
      else unknownField(at, k, LIMIT_FIELDS);
    }
    desc.limit = { requests_per_unit: rpu as number, unit: unit as EnvoyUnit | number };
  }
  if (hits !== undefined) desc.hits_addend = hits as number;
  return desc;
}

function obj(v: unknown, at: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new EnvoyRequestError(`${at || 'the body'} must be a JSON object`);
  return v as Record<string, unknown>;
}

function unknownField(at: string, k: string, known: readonly string[]): never {
  throw new EnvoyRequestError(`unknown field "${at ? `${at}.` : ''}${k}" (known fields: ${known.join(', ')})`);
}

/** The RateLimitResponse in the proto3 JSON mapping, as envoyproxy/ratelimit writes it. */
export function responseToJson(res: RateLimitResponse): Record<string, unknown> {
  return {
    overallCode: res.overall_code,
    statuses: res.statuses.map((s) => ({
      code: s.code,
      ...(s.current_limit
        ? { currentLimit: { ...(s.current_limit.name ? { name: s.current_limit.name } : {}), requestsPerUnit: s.current_limit.requests_per_unit, unit: s.current_limit.unit } }
        : {}),
      limitRemaining: s.limit_remaining,
      ...(s.duration_until_reset ? { durationUntilReset: durationJson(s.duration_until_reset) } : {}),
    })),
    ...(res.response_headers_to_add.length ? { responseHeadersToAdd: res.response_headers_to_add } : {}),
    ...(res.request_headers_to_add.length ? { requestHeadersToAdd: res.request_headers_to_add } : {}),
  };
}

/**
 * JSON.stringify(responseToJson(res)), written out by hand for the service's raw /json path:
 * the generic walk of the intermediate objects cost more than the text itself.
 * test/envoy/response-json checks it against JSON.stringify over many responses. A value of
 * a type the response does not have takes the generic path, so the text is the same.
 */
export function responseJson(res: RateLimitResponse): string {
  return plainResponse(res) ? renderResponse(res) : JSON.stringify(responseToJson(res));
}

function renderResponse(res: RateLimitResponse): string {
  let out = `{"overallCode":${name(res.overall_code)},"statuses":[`;
  const statuses = res.statuses;
  for (let i = 0; i < statuses.length; i++) {
    const s = statuses[i];
    out += `${i > 0 ? ',' : ''}{"code":${name(s.code)}`;
    const l = s.current_limit;
    if (l) out += `,"currentLimit":{${l.name ? `"name":${name(l.name)},` : ''}"requestsPerUnit":${num(l.requests_per_unit)},"unit":${typeof l.unit === 'string' ? name(l.unit) : num(l.unit)}}`;
    out += `,"limitRemaining":${num(s.limit_remaining)}`;
    // digits, a point and an s: nothing to escape
    if (s.duration_until_reset) out += `,"durationUntilReset":"${durationJson(s.duration_until_reset)}"`;
    out += '}';
  }
  out += ']';
  if (res.response_headers_to_add.length) out += `,"responseHeadersToAdd":${headerList(res.response_headers_to_add)}`;
  if (res.request_headers_to_add.length) out += `,"requestHeadersToAdd":${headerList(res.request_headers_to_add)}`;
  return out + '}';
}

function headerList(headers: readonly HeaderValue[]): string {
  let out = '[';
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i];
    // RateLimit-Policy's value is made of the configuration's limits (a small set): looked up like a
    // name. With --envoy-request-limits it also names the requests' own values: the name cache is
    // bounded (cleared when full), so those cost a refill, never memory.
    out += `${i > 0 ? ',' : ''}{"key":${name(h.key)},"value":${h.key === 'ratelimit-policy' ? name(h.value) : quote(h.value)}}`;
  }
  return out + ']';
}

/** Every value is of the type the hand-written rendering expects (what JSON.stringify would not drop or reshape). */
function plainResponse(res: RateLimitResponse): boolean {
  if (typeof res.overall_code !== 'string') return false;
  for (const s of res.statuses) {
    if (typeof s.code !== 'string' || typeof s.limit_remaining !== 'number') return false;
    const l = s.current_limit;
    if (l && (typeof l.requests_per_unit !== 'number' || (typeof l.unit !== 'string' && typeof l.unit !== 'number') || (l.name && typeof l.name !== 'string'))) return false;
    const d = s.duration_until_reset;
    if (d && (typeof d.seconds !== 'number' || typeof d.nanos !== 'number')) return false;
  }
  return plainHeaders(res.response_headers_to_add) && plainHeaders(res.request_headers_to_add);
}

function plainHeaders(headers: readonly HeaderValue[]): boolean {
  // A HeaderValue is { key, value } (as the limiter builds it; protojson knows no other field).
  for (const h of headers) if (typeof h.key !== 'string' || typeof h.value !== 'string') return false;
  return true;
}

function num(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}

/**
 * A JSON string literal: JSON.stringify's text. The header values the limiter makes are
 * printable ASCII whose only character to escape is `"` (RateLimit: `"name";r=…;t=…`), and
 * for those the literal is built here; anything else goes to JSON.stringify.
 */
function quote(s: string): string {
  let quotes = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) quotes = true;
    else if (c < 0x20 || c > 0x7e || c === 0x5c) return JSON.stringify(s);
  }
  return quotes ? `"${s.replaceAll('"', '\\"')}"` : `"${s}"`;
}

/**
 * A JSON string literal of a name from a small set (codes, units, header names, limit names
 * of the configuration), quoted once and then looked up: cheaper than JSON.stringify per use.
 */
function name(s: string): string {
  let q = names.get(s);
  if (q === undefined) {
    if (names.size >= 1024) names.clear(); // bound it, whatever the set turns out to be
    names.set(s, (q = JSON.stringify(s)));
  }
  return q;
}

const names = new Map<string, string>();

/** google.protobuf.Duration in JSON: "3s", "0.250s". */
export function durationJson(d: Duration): string {
  if (d.nanos === 0) return `${d.seconds}s`;
  // 0, 3, 6 or 9 fractional digits, as protojson writes them.
  const n = String(d.nanos).padStart(9, '0');
  const frac = n.endsWith('000000') ? n.slice(0, 3) : n.endsWith('000') ? n.slice(0, 6) : n;
  return `${d.seconds}.${frac}s`;
}
