import { z } from 'zod';
import { ALGORITHM_NAMES } from '../algorithms/index.js';

/**
 * The policy file's shape. Only structure lives here; meaning (units, references,
 * contradictions) is checked by the compiler so that every error can say where it is.
 */

const attributeName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, 'an attribute name: letters, digits, _ . -');
const scalar = z.union([z.string(), z.number(), z.boolean()]);

export const matchValueSchema = z.union([
  scalar,
  z.array(scalar).min(1),
  z.strictObject({ group: z.union([z.string(), z.array(z.string()).min(1)]) }),
  z.strictObject({ not: z.union([scalar, z.array(scalar).min(1)]) }),
  z.strictObject({ exists: z.boolean() }),
]);

export const responseSchema = z.strictObject({
  status: z.number().int().min(100).max(599).optional(),
  message: z.string().min(1).optional(),
  code: z.string().regex(/^[a-z0-9_.-]+$/i, 'a machine-readable code: letters, digits, _ . -').optional(),
});

const limitSchema = z.union([
  z.string(),
  z.strictObject({ count: z.union([z.number(), z.string()]), window: z.string() }),
]);

const statusPattern = z.union([z.number().int().min(100).max(599), z.string().regex(/^[1-5](xx|\d\d)$/, 'a status code such as 401 or a class such as 4xx')]);

export const ruleSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'a rule name: letters, digits, _ . - (it appears in keys and headers)'),
  description: z.string().optional(),
  match: z.record(attributeName, matchValueSchema).optional(),
  key: z.union([attributeName, z.array(attributeName)]).optional(),
  limit: limitSchema,
  algorithm: z.enum(ALGORITHM_NAMES.filter((n) => n !== 'block') as [string, ...string[]]).optional(),
  burst: z.number().int().positive().optional(),
  buckets: z.number().int().min(1).max(1000).optional(),
  cost: z.union([z.number().positive(), z.literal('bytes'), z.strictObject({ attribute: attributeName })]).optional(),
  count: z.union([z.enum(['request', 'failure', 'success']), z.array(statusPattern).min(1)]).optional(),
  block: z.union([z.string(), z.strictObject({ for: z.string(), key: z.union([attributeName, z.array(attributeName)]).optional() })]).optional(),
  action: z.enum(['reject', 'drop']).optional(),
  response: responseSchema.optional(),
  shadow: z.boolean().optional(),
  scale: z.union([attributeName, z.strictObject({ attribute: attributeName, of: attributeName.optional(), default: z.number().positive().optional() })]).optional(),
  on_store_error: z.enum(['open', 'closed']).optional(),
  charge_rejected: z.boolean().optional(),
});

export const overrideSchema = z.strictObject({
  rule: z.string(),
  key: z.record(attributeName, scalar),
  limit: limitSchema,
  expires: z.string().optional(),
  reason: z.string().optional(),
});

export const capSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, 'a cap name: letters, digits, _ . : -'),
  description: z.string().optional(),
  match: z.record(attributeName, matchValueSchema).optional(),
  max_body: z.union([z.string(), z.number()]).optional(),
  max_items: z.array(z.strictObject({ path: z.string().regex(/^\$(\.[A-Za-z0-9_-]+|\[\*\])*$/, 'a JSON path like $.numbers or $.contacts'), max: z.number().int().positive() })).min(1).optional(),
  max_rows: z.number().int().positive().optional(),
  max_file: z.union([z.string(), z.number()]).optional(),
  response: responseSchema.optional(),
});

export const routeSchema = z.strictObject({
  method: z.union([z.string(), z.array(z.string()).min(1)]).optional(),
  path: z.string().regex(/^\//, 'a path pattern starting with /, e.g. /v1/recordings/:id'),
  api: z.string().min(1),
  set: z.record(attributeName, scalar).optional(),
});

/** How the gateway and middleware derive a subject from an HTTP request (see src/http/subject-config.ts). */
export const subjectSchema = z.strictObject({
  headers: z.record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'a header name'), attributeName).optional(),
  set: z.record(attributeName, scalar).optional(),
  api_keys: z
    .strictObject({
      header: z.string().optional(),
      required: z.boolean().optional(),
      keys: z.record(z.string().min(8, 'API keys are at least 8 characters'), z.record(attributeName, scalar)),
    })
    .optional(),
  jwt: z
    .strictObject({
      header: z.string().optional(),
      claims: z.record(z.string().min(1), attributeName),
      secret: z.string().min(16, 'an HS256 secret of at least 16 characters').optional(),
      secret_env: z.string().optional(),
      public_key: z.string().optional(),
      public_key_file: z.string().optional(),
      issuer: z.string().optional(),
      audience: z.string().optional(),
      leeway: z.number().min(0).max(3600).optional(),
      required: z.boolean().optional(),
      trust_unverified: z.boolean().optional(),
    })
    .optional(),
  trusted_proxies: z.array(z.string()).optional(),
  ip_attribute: attributeName.optional(),
});

export const policySchema = z.strictObject({
  version: z.literal(1).optional(),
  defaults: z
    .strictObject({
      algorithm: ruleSchema.shape.algorithm,
      on_store_error: z.enum(['open', 'closed']).optional(),
      legacy_headers: z.boolean().optional(),
      response: responseSchema.optional(),
    })
    .optional(),
  groups: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/, 'a group name: letters, digits, _ . -'), z.array(z.string().min(1)).min(1)).optional(),
  rules: z.array(ruleSchema).min(1, 'a policy needs at least one rule'),
  overrides: z.array(overrideSchema).optional(),
  attributes: z.record(attributeName, z.record(z.string(), z.record(attributeName, z.number()))).optional(),
  caps: z.array(capSchema).optional(),
  routes: z.array(routeSchema).optional(),
  subject: subjectSchema.optional(),
});

export type PolicyDocument = z.infer<typeof policySchema>;
export type RuleDocument = z.infer<typeof ruleSchema>;
export type MatchValue = z.infer<typeof matchValueSchema>;
export type CapDocument = z.infer<typeof capSchema>;
export type OverrideDocument = z.infer<typeof overrideSchema>;
export type ResponseDocument = z.infer<typeof responseSchema>;
export type SubjectDocument = z.infer<typeof subjectSchema>;
