import { z } from 'zod';
import { BodyError, fromZod } from './validate.js';

/**
 * Body schemas of the admin API (structure only: wrong types and unknown fields are
 * 400 with the JSON path). Meaning — does the rule exist, does the key name the rule's
 * attributes, does the limit parse — is checked by the routes and answered with 422.
 * The decision API's bodies are validated by hand in ./validate.ts (hot path).
 */

export const attributeName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, 'an attribute name: letters, digits, _ . -');
const scalar = z.union([z.string(), z.number(), z.boolean()], { error: 'expected string, number or boolean' });

export const overridePutSchema = z.strictObject({
  rule: z.string().min(1),
  key: z.record(z.string(), scalar),
  limit: z.string().min(1),
  /** An ISO 8601 instant, or a duration from now ("30d"). */
  expires: z.string().min(1).optional(),
  /** A duration from now ("1h"); the same as a duration in `expires`. */
  ttl: z.string().min(1).optional(),
  reason: z.string().max(2000).optional(),
});
export type OverridePut = z.infer<typeof overridePutSchema>;

export const overrideDeleteSchema = z.strictObject({
  rule: z.string().min(1),
  key: z.record(z.string(), scalar),
});

export const attributesPutSchema = z.record(attributeName, z.number().nullable());

export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  if (body === undefined || body === null) throw new BodyError(400, [{ path: '', message: 'a JSON object body is required' }]);
  const r = schema.safeParse(body);
  if (!r.success) throw fromZod(r.error, body);
  return r.data;
}
