import type { FastifyInstance } from 'fastify';
import { errorBody } from '../http/errors.js';
import type { EnvoyUnit } from './config.js';
import type { EnvoyRateLimiter } from './limiter.js';
import { EnvoyRequestError, EnvoyStoreError, type Duration, type RateLimitDescriptor, type RateLimitRequest, type RateLimitResponse } from './types.js';

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
 * OVER_LIMIT, 400 for an unusable request, 503 when the store fails). Shared by the
 * fastify route above and the service's raw node:http path (src/server/routes/envoy-json.ts).
 * Anything else thrown is a bug, for the caller's 500.
 */
export async function decideJson(limiter: EnvoyRateLimiter, text: string, onError?: (error: unknown) => void): Promise<{ status: number; body: object }> {
  let request: RateLimitRequest;
  try {
    request = parseJsonRequest(text);
  } catch (e) {
    return { status: 400, body: errorBody(e instanceof SyntaxError ? 'invalid_json' : 'invalid_request', (e as Error).message) };
  }
  try {
    const res = await limiter.shouldRateLimit(request);
    return { status: res.overall_code === 'OVER_LIMIT' ? 429 : 200, body: responseToJson(res) };
  } catch (e) {
    if (e instanceof EnvoyRequestError) return { status: 400, body: errorBody(e.code, e.message) };
    onError?.(e);
    if (e instanceof EnvoyStoreError) return { status: 503, body: errorBody(e.code, e.message) };
    throw e;
  }
}

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

/** google.protobuf.Duration in JSON: "3s", "0.250s". */
export function durationJson(d: Duration): string {
  if (d.nanos === 0) return `${d.seconds}s`;
  // 0, 3, 6 or 9 fractional digits, as protojson writes them.
  const n = String(d.nanos).padStart(9, '0');
  const frac = n.endsWith('000000') ? n.slice(0, 3) : n.endsWith('000') ? n.slice(0, 6) : n;
  return `${d.seconds}.${frac}s`;
}
