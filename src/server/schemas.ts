import { z } from 'zod';
import { MESSAGES } from '../http/json-schema.js';

/**
 * Every request body of the service, written once: the decision API (hot path) and the admin
 * API are validated against these (./validate.ts compiles them), and the OpenAPI document
 * (./openapi.ts) is generated from them. Structure (types, unknown or missing fields) is 400;
 * values of the right type out of range are 422. Meaning the schema cannot know — does the
 * rule exist, does the key name the rule's attributes, does the limit parse — is checked by
 * the routes and answered with 422.
 */

/** The largest request body the service reads unless its bodyLimit option says otherwise, bytes. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

export const LIMITS = {
  /** Attributes in one subject. */
  subjectAttributes: 64,
  /** Characters in one attribute name or string value. */
  valueLength: 1024,
  /** Checks in one batch. */
  batch: 1000,
};

/** An attribute value: a string, number or boolean (a string up to 1,024 characters). */
const attributeValue = z.union([z.string().max(LIMITS.valueLength), z.number(), z.boolean()]);

export const subjectSchema = z
  .record(z.string().min(1).max(LIMITS.valueLength), attributeValue)
  .meta({
    description: 'The request’s attributes, matched by the policy’s rules (account, tenant, ip, user, api, route, contact, …)',
    maxProperties: LIMITS.subjectAttributes,
    examples: [{ account: 'acme', api: 'List of Conversations' }],
    [MESSAGES]: { maxProperties: 'more than {limit} attributes', propertyNames: `an attribute name is 1 to ${LIMITS.valueLength} characters` },
  });

export const checkSchema = z.strictObject({
  subject: subjectSchema,
  cost: z.number().positive().optional().meta({ description: 'Units this request costs (default: the rule’s cost, usually 1)' }),
}).meta({ examples: [{ subject: { account: 'acme', api: 'List of Conversations' } }, { subject: { account: 'acme', api: 'Upload' }, cost: 5 }] });

export const batchSchema = z.strictObject({
  checks: z
    .array(checkSchema)
    .max(LIMITS.batch)
    .meta({ [MESSAGES]: { maxItems: 'at most {limit} checks per batch (got {count})' } }),
}).meta({ examples: [{ checks: [{ subject: { account: 'acme', api: 'Queue Size' } }, { subject: { account: 'globex', api: 'Queue Size' }, cost: 2 }] }] });

export const outcomeSchema = z.strictObject({
  status: z.int().min(100).max(599).optional(),
  bytes: z.number().min(0).optional(),
  success: z.boolean().optional(),
});

export const recordSchema = z
  .strictObject({ subject: subjectSchema, outcome: outcomeSchema })
  .meta({ examples: [{ subject: { ip: '203.0.113.9', user: 'ann' }, outcome: { status: 401, success: false } }, { subject: { account: 'acme' }, outcome: { bytes: 52_428_800 } }] });

// ---- admin API ----

export const attributePattern = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
export const attributeName = z.string().regex(attributePattern);
const keyValues = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).meta({ description: 'Exactly the rule’s key attributes', examples: [{ account: 'acme' }] });

export const overridePutSchema = z.strictObject({
  rule: z.string().min(1),
  key: keyValues,
  limit: z.string().min(1).meta({ examples: ['600/1m'] }),
  expires: z.string().min(1).optional().meta({ description: 'An ISO 8601 instant, or a duration from now (30d)' }),
  ttl: z.string().min(1).optional().meta({ description: 'A duration from now (1h); the same as a duration in `expires`' }),
  reason: z.string().max(2000).optional(),
}).meta({ examples: [{ rule: 'account-per-minute', key: { account: 'acme' }, limit: '600/1m', ttl: '30d', reason: 'launch week' }] });
export type OverridePut = z.infer<typeof overridePutSchema>;

export const overrideDeleteSchema = z.strictObject({ rule: z.string().min(1), key: keyValues }).meta({ examples: [{ rule: 'account-per-minute', key: { account: 'acme' } }] });

export const attributesPutSchema = z
  .record(attributeName, z.number().nullable())
  .meta({ examples: [{ licensed_agents: 40 }], [MESSAGES]: { propertyNames: 'an attribute name: letters, digits, _ . -' } });

export const resetSchema = z
  .strictObject({ subject: subjectSchema, rules: z.array(z.string()).optional().meta({ description: 'Only these rules (default: every rule the subject matches)' }) })
  .meta({ examples: [{ subject: { account: 'acme' } }, { subject: { account: 'acme', api: 'Queue Size' }, rules: ['account-per-minute'] }] });

export const inspectSchema = z.strictObject({ subject: subjectSchema }).meta({ examples: [{ subject: { account: 'acme', api: 'List of Conversations' } }] });

/** The body schema of every route that takes one, by "METHOD path" as the OpenAPI document names it. */
export const REQUEST_BODIES: Readonly<Record<string, z.ZodType>> = {
  'POST /v1/check': checkSchema,
  'POST /v1/check/batch': batchSchema,
  'POST /v1/record': recordSchema,
  'PUT /v1/admin/overrides': overridePutSchema,
  'DELETE /v1/admin/overrides': overrideDeleteSchema,
  'PUT /v1/admin/attributes/{attr}/{value}': attributesPutSchema,
  'POST /v1/admin/reset': resetSchema,
  'POST /v1/admin/inspect': inspectSchema,
};
