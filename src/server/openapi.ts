import type { z } from 'zod';
import { formatBytes } from '../http/caps.js';
import { jsonSchemaOf, MESSAGES } from '../http/json-schema.js';
import { DEFAULT_BODY_LIMIT, LIMITS, REQUEST_BODIES, subjectSchema } from './schemas.js';

/**
 * The service's HTTP API as OpenAPI 3.1, served at GET /openapi.json. Every request body's
 * schema is generated (z.toJSONSchema) from the zod schema the server validates it with
 * (./schemas.ts, REQUEST_BODIES), so the document cannot drift from what is accepted; the
 * responses are described here. The body limit is the one the service runs with.
 */
export interface OpenapiOptions {
  /** The largest request body the service takes, bytes (413 above it). */
  bodyLimit: number;
  /** The request body schemas to describe (the server's own by default; a test may pass changed ones). */
  bodies?: Readonly<Record<string, z.ZodType>>;
}

/** Without options: the service's default body limit (DEFAULT_BODY_LIMIT, 1 MiB). */
export function openapiDocument(opts: OpenapiOptions = { bodyLimit: DEFAULT_BODY_LIMIT }): Record<string, unknown> {
  const bodies = opts.bodies ?? REQUEST_BODIES;
  /** The request body of "POST /v1/check": required, application/json, the schema the server validates with. */
  const requestBody = (op: string) => {
    const schema = bodies[op];
    if (!schema) throw new Error(`openapi: no request body schema for ${op}`);
    return { required: true, ...json(documentSchema(schema)) };
  };
  const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
  const json = (schema: unknown) => ({ content: { 'application/json': { schema } } });
  const error = (description: string) => ({ description, ...json(ref('Error')) });
  const rateHeaders = {
    RateLimit: { description: 'draft-ietf-httpapi-ratelimit-headers: "rule";r=<remaining>;t=<seconds to reset>, one item per matching rule', schema: { type: 'string' } },
    'RateLimit-Policy': { description: '"rule";q=<limit>;w=<window seconds>[;qu="content-bytes"], one item per matching rule', schema: { type: 'string' } },
  };
  const retryAfter = { 'Retry-After': { description: 'Seconds until the request would be admitted', schema: { type: 'integer' } } };
  const bad = {
    '400': error('Malformed JSON, a wrong type, an unknown or missing field; the message names the JSON path'),
    '413': error(`Body larger than ${formatBytes(opts.bodyLimit)}, the limit this service runs with`),
    '415': error('Body is not application/json'),
    '422': error('Well-formed but meaningless values (negative cost, unknown rule, bad limit syntax)'),
  };
  const auth = {
    '401': { description: 'Missing or invalid bearer token', headers: { 'WWW-Authenticate': { schema: { type: 'string' } } }, ...json(ref('Error')) },
    '403': error('The read-only token cannot make changes'),
  };
  const admin = (write: boolean) => ({ security: [{ bearer: [] }], tags: ['admin'], 'x-token': write ? 'admin' : 'admin or read' });

  return {
    openapi: '3.1.0',
    info: {
      title: 'Sluice',
      version: '1',
      description:
        'Rate limits, quotas and lockouts for multi-tenant APIs. The decision API asks whether a request may proceed (check) and reports what happened after it (record). Every error body is { "error": { "code", "message", … } }.',
    },
    tags: [{ name: 'decisions' }, { name: 'admin' }, { name: 'dashboard' }, { name: 'operations' }],
    paths: {
      '/v1/check': {
        post: {
          tags: ['decisions'],
          summary: 'Decide a request before doing the work; rules that count requests are charged when it is admitted',
          requestBody: requestBody('POST /v1/check'),
          responses: {
            '200': { description: 'Admitted, or dropped (action "drop": do not process, answer quietly)', headers: rateHeaders, ...json(ref('Decision')) },
            '429': { description: "Refused by the binding rule (its status: 429 by default, or the rule's own, e.g. 509)", headers: { ...rateHeaders, ...retryAfter }, ...json(ref('Denial')) },
            '503': { description: 'The store failed and the binding rule fails closed', headers: retryAfter, ...json(ref('Denial')) },
            ...bad,
          },
        },
      },
      '/v1/check/batch': {
        post: {
          tags: ['decisions'],
          summary: `Decide up to ${LIMITS.batch.toLocaleString('en-US')} independent checks in one call (each charged as its own check, in order)`,
          requestBody: requestBody('POST /v1/check/batch'),
          responses: {
            '200': {
              description: 'One decision per check, in order; refused ones carry their error',
              ...json({ type: 'object', properties: { allowed: { type: 'boolean', description: 'every check was admitted' }, results: { type: 'array', items: ref('Decision') } } }),
            },
            ...bad,
          },
        },
      },
      '/v1/record': {
        post: {
          tags: ['decisions'],
          summary: 'Report the outcome of work already done: failures, statuses and bytes are charged to the rules that count them',
          requestBody: requestBody('POST /v1/record'),
          responses: { '200': { description: 'Recorded; the decision says whether the event fitted (a trip starts any block)', headers: rateHeaders, ...json(ref('Decision')) }, ...bad },
        },
      },
      '/v1/admin/overrides': {
        get: { ...admin(false), summary: 'List run-time overrides (store) and the policy file’s overrides', responses: { '200': { description: 'Overrides', ...json({ type: 'object', properties: { overrides: { type: 'array', items: ref('Override') }, policy: { type: 'array', items: ref('Override') } } }) }, ...auth } },
        put: {
          ...admin(true),
          summary: 'Set a custom limit for one key of a rule, seen by every instance on the store',
          requestBody: requestBody('PUT /v1/admin/overrides'),
          responses: { '200': { description: 'The override', ...json({ type: 'object', properties: { override: ref('Override') } }) }, ...auth, ...bad },
        },
        delete: {
          ...admin(true),
          summary: 'Remove a run-time override',
          requestBody: requestBody('DELETE /v1/admin/overrides'),
          responses: { '200': { description: 'Deleted' }, '404': error('No such override'), ...auth, ...bad },
        },
      },
      '/v1/admin/attributes/{attr}/{value}': {
        parameters: [
          { name: 'attr', in: 'path', required: true, schema: { type: 'string' }, example: 'tenant' },
          { name: 'value', in: 'path', required: true, schema: { type: 'string' }, example: 'acme' },
        ],
        get: { ...admin(false), summary: 'Attributes of an entity (store, policy file, effective)', responses: { '200': { description: 'Attributes', ...json(ref('Attributes')) }, ...auth } },
        put: {
          ...admin(true),
          summary: 'Set (number) or clear (null) attributes of an entity; rules that scale by them follow at once',
          requestBody: requestBody('PUT /v1/admin/attributes/{attr}/{value}'),
          responses: { '200': { description: 'Attributes after the change', ...json(ref('Attributes')) }, ...auth, ...bad },
        },
      },
      '/v1/admin/reset': {
        post: {
          ...admin(true),
          summary: 'Forget the usage and blocks of a subject under every rule it matches (or the rules named)',
          requestBody: requestBody('POST /v1/admin/reset'),
          responses: { '200': { description: 'The keys reset', ...json({ type: 'object', properties: { reset: { type: 'array', items: { type: 'object' } }, keysWithState: { type: 'integer' } } }) }, ...auth, ...bad },
        },
      },
      '/v1/admin/inspect': {
        post: {
          ...admin(false),
          summary: 'Current usage of a subject under every rule it matches; charges nothing',
          requestBody: requestBody('POST /v1/admin/inspect'),
          responses: { '200': { description: 'Usage per rule', ...json({ type: 'object', properties: { subject: ref('Subject'), now: { type: 'string' }, rules: { type: 'array', items: ref('RuleUsage') } } }) }, ...auth, ...bad },
        },
      },
      '/v1/admin/reload': {
        post: {
          ...admin(true),
          summary: 'Reload the policy file; a broken file is refused and the previous policy keeps serving',
          responses: {
            '200': { description: 'Reloaded', ...json({ type: 'object', properties: { reloaded: { const: true }, source: { type: 'string' }, rules: { type: 'integer' } } }) },
            '409': error('Started with an inline policy: no file to reload'),
            '422': { description: 'The file is invalid; error.issues lists every problem with file, line and column', ...json(ref('Error')) },
            ...auth,
          },
        },
      },
      '/v1/admin/policy': { get: { ...admin(false), summary: 'The rules being served', responses: { '200': { description: 'Policy summary' }, ...auth } } },
      // ---- dashboard (src/dashboard): the page is public and holds no data; its data needs a token ----
      '/dashboard': { get: { tags: ['dashboard'], summary: 'The live dashboard page (HTML; asks for a token, holds no data)', responses: { '200': { description: 'text/html' } } } },
      '/v1/dashboard/whoami': { get: { ...admin(false), tags: ['dashboard'], summary: 'The role of the token given', responses: { '200': { description: '{ role, canWrite, instance }' }, ...auth } } },
      '/v1/dashboard/live': {
        get: {
          ...admin(false),
          tags: ['dashboard'],
          summary: 'Decisions per second per rule, store health, decision latency, recent reloads',
          parameters: [
            { name: 'step', in: 'query', schema: { enum: [1000, 10000, 60000] }, description: 'Resolution, ms (default 1000)' },
            { name: 'points', in: 'query', schema: { type: 'integer', minimum: 1 }, description: 'Slots, ending now (default: all kept at that resolution: 900, 360, 1440)' },
          ],
          responses: { '200': { description: '{ now, instance, rules: [{ rule, t0, stepMs, allowed[], refused[], dropped[], near[], shadow[], totals }], health, latency, reloads, policy }' }, '400': error('A bad step or points'), ...auth },
        },
      },
      '/v1/dashboard/top': {
        get: {
          ...admin(false),
          tags: ['dashboard'],
          summary: 'The most refused keys, over all rules and per rule, each with its usage now (charges nothing)',
          parameters: [{ name: 'n', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 50 } }],
          responses: { '200': { description: '{ overall: [{ rule, key, stateKey, count, error, usage }], rules: { name: [...] } }' }, '400': error('A bad n'), ...auth },
        },
      },
      '/v1/dashboard/fleet': { get: { ...admin(false), tags: ['dashboard'], summary: 'Every instance sharing the Redis store, and their sum (last minute)', responses: { '200': { description: '{ enabled, instances, total, top }' }, ...auth } } },
      '/metrics': { get: { tags: ['operations'], summary: 'Prometheus metrics', responses: { '200': { description: 'text/plain exposition format' } } } },
      '/healthz': { get: { tags: ['operations'], summary: 'Liveness', responses: { '200': { description: '{ "status": "ok" }' } } } },
      '/readyz': { get: { tags: ['operations'], summary: 'Readiness: the store answers and a policy is loaded', responses: { '200': { description: 'Ready' }, '503': error('Not ready') } } },
      '/openapi.json': { get: { tags: ['operations'], summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1' } } } },
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'The admin token (read and write) or the read-only token' } },
      schemas: {
        Subject: documentSchema(subjectSchema),
        RuleResult: {
          type: 'object',
          properties: {
            name: { type: 'string' },
            allowed: { type: 'boolean' },
            shadow: { type: 'boolean' },
            blocked: { type: 'boolean' },
            limit: { type: 'number' },
            windowMs: { type: 'number' },
            remaining: { type: 'number' },
            resetMs: { type: 'number' },
            retryAfterMs: { type: 'number' },
            fallback: { type: 'boolean' },
          },
        },
        Decision: {
          type: 'object',
          properties: {
            allowed: { type: 'boolean' },
            action: { enum: ['allow', 'reject', 'drop'] },
            rule: { type: 'string', description: 'The binding rule' },
            status: { type: 'integer' },
            message: { type: 'string' },
            code: { type: 'string' },
            limit: { type: ['number', 'null'] },
            remaining: { type: ['number', 'null'] },
            resetMs: { type: 'number' },
            retryAfterMs: { type: 'number' },
            rules: { type: 'array', items: { $ref: '#/components/schemas/RuleResult' } },
            shadowDenied: { type: 'array', items: { type: 'string' } },
          },
        },
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: { code: { type: 'string' }, message: { type: 'string' }, path: { type: 'string', description: 'The JSON path (or policy field path) of the first issue' }, issues: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' }, file: { type: 'string' }, line: { type: 'integer' }, column: { type: 'integer' } } } } },
            },
          },
        },
        Denial: {
          type: 'object',
          properties: { error: { type: 'object', required: ['code', 'message', 'rule', 'retryAfterMs'], properties: { code: { type: 'string' }, message: { type: 'string' }, rule: { type: 'string' }, retryAfterMs: { type: 'number' } } } },
          example: { error: { code: 'rate_limit_exceeded', message: "You've exceeded the per-minute rate limit. Please wait for sometime before retrying.", rule: 'account-per-minute', retryAfterMs: 41000 } },
        },
        Override: {
          type: 'object',
          properties: {
            rule: { type: 'string' },
            key: { type: 'object' },
            stateKey: { type: 'string' },
            limit: { type: 'string' },
            limitCount: { type: 'number' },
            windowMs: { type: 'number' },
            expires: { type: 'string' },
            reason: { type: 'string' },
            by: { type: 'string' },
            source: { enum: ['store', 'policy'] },
          },
        },
        Attributes: { type: 'object', properties: { entity: { type: 'string' }, attributes: { type: 'object' }, policy: { type: 'object' }, effective: { type: 'object' } } },
        RuleUsage: {
          type: 'object',
          properties: {
            rule: { type: 'string' },
            key: { type: 'string' },
            algorithm: { type: 'string' },
            limit: { type: 'number' },
            windowMs: { type: 'number' },
            used: { type: 'number' },
            remaining: { type: 'number' },
            resetMs: { type: 'number' },
            retryAfterMs: { type: 'number' },
            blocked: { type: 'boolean' },
            blockedForMs: { type: 'number' },
            shadow: { type: 'boolean' },
            phase: { enum: ['request', 'outcome'] },
            override: { enum: ['store', 'policy'] },
          },
        },
      },
    },
  };
}

/** A request body schema as the document shows it: what ajv compiles, without the validator's own wording. */
export function documentSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _, ...rest } = jsonSchemaOf(schema);
  return withoutMessages(rest) as Record<string, unknown>;
}

function withoutMessages(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutMessages);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (k !== MESSAGES) out[k] = withoutMessages(x);
  return out;
}
