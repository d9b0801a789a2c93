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
  const root = obj(raw, '');
  const f = fields(root, '', { domain: 'domain', descriptors: 'descriptors', hitsAddend: 'hits_addend', hits_addend: 'hits_addend' });
  const descriptors = f.descriptors === undefined || f.descriptors === null ? [] : f.descriptors;
  if (!Array.isArray(descriptors)) throw new EnvoyRequestError('descriptors is a list');
  return {
    domain: f.domain as string,
    hits_addend: f.hits_addend as number | undefined,
    descriptors: descriptors.map((d, i): RateLimitDescriptor => {
      const at = `descriptors[${i}]`;
      const df = fields(obj(d, at), at, { entries: 'entries', limit: 'limit', hitsAddend: 'hits_addend', hits_addend: 'hits_addend' });
      const entries = df.entries === undefined || df.entries === null ? [] : df.entries;
      if (!Array.isArray(entries)) throw new EnvoyRequestError(`${at}.entries is a list`);
      let limit: RateLimitDescriptor['limit'];
      if (df.limit !== undefined && df.limit !== null) {
        const lf = fields(obj(df.limit, `${at}.limit`), `${at}.limit`, { requestsPerUnit: 'requests_per_unit', requests_per_unit: 'requests_per_unit', unit: 'unit' });
        limit = { requests_per_unit: lf.requests_per_unit as number, unit: lf.unit as EnvoyUnit | number };
      }
      return {
        entries: entries.map((e, j) => {
          const ef = fields(obj(e, `${at}.entries[${j}]`), `${at}.entries[${j}]`, { key: 'key', value: 'value' });
          return { key: ef.key as string, value: ef.value as string };
        }),
        ...(limit ? { limit } : {}),
        ...(df.hits_addend !== undefined ? { hits_addend: df.hits_addend as number } : {}),
      };
    }),
  };
}

function obj(v: unknown, at: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new EnvoyRequestError(`${at || 'the body'} must be a JSON object`);
  return v as Record<string, unknown>;
}

function fields(o: Record<string, unknown>, at: string, names: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    const name = names[k];
    if (name === undefined) {
      const known = [...new Set(Object.keys(names).filter((n) => !n.includes('_')))];
      throw new EnvoyRequestError(`unknown field "${at ? `${at}.` : ''}${k}" (known fields: ${known.join(', ')})`);
    }
    out[name] = v;
  }
  return out;
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
  const frac = String(d.nanos).padStart(9, '0').replace(/(\d{3})(\d{3})(\d{3})$/, (_m, a: string, b: string, c: string) => (c === '000' ? (b === '000' ? a : a + b) : a + b + c));
  return `${d.seconds}.${frac}s`;
}
