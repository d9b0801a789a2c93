import { z } from 'zod';
import { MESSAGES } from '../http/json-schema.js';

/**
 * The structure of an envoyproxy/ratelimit YAML file, written once in zod and checked by the
 * same validator as the service's bodies (http/json-schema.ts): unknown fields, wrong types and
 * out-of-range numbers, each with its field path (./config.ts adds file, line and column).
 * What needs the whole file — units, durations, duplicates, `replaces` — is checked by the
 * compiler in ./config.ts. A YAML field left empty (`rate_limit:`) counts as not given, as
 * envoy reads it, so the file is checked with its nulls taken out.
 */

const UINT32_MAX = 4_294_967_295;

/** Keys, values and names: envoy reads them as strings, a number as written (value: 007). */
const text = z.union([z.string(), z.number(), z.boolean()]).optional();

const replacesEntry = z.strictObject({ name: text }).meta({ [MESSAGES]: { type: 'each replaces entry is a mapping: - name: <limit name>' } });

const rateLimit = z
  .strictObject({
    unit: text,
    requests_per_unit: z.int().min(0).max(UINT32_MAX).optional().meta({ [MESSAGES]: { type: 'requests_per_unit is a whole number from 0 to 4294967295' } }),
    unlimited: z.boolean().optional(),
    name: text,
    replaces: z.array(replacesEntry).optional(),
    /** Sluice: any duration (3s) instead of a unit. */
    window: text,
    /** Sluice: fixed-window (envoy's count, the default), sliding-window, sliding-log or gcra. */
    algorithm: text,
    /** Sluice: once the limit trips, the key is refused for this long. */
    block: text,
    /** Sluice: open (decide locally while the store is down) or closed (refuse), as a policy rule's. */
    on_store_error: text,
  })
  .meta({ [MESSAGES]: { type: 'rate_limit is a mapping: { unit, requests_per_unit } or { unlimited: true }' } });

const LIST = { [MESSAGES]: { type: 'this is a list (write each item on a line starting with "- ")' } };

interface Descriptor {
  key?: string | number | boolean;
  value?: string | number | boolean;
  rate_limit?: z.infer<typeof rateLimit>;
  descriptors?: Descriptor[];
  shadow_mode?: boolean;
  detailed_metric?: boolean;
  value_to_metric?: boolean;
}

const descriptor: z.ZodType<Descriptor> = z
  .strictObject({
    key: text,
    value: text,
    rate_limit: rateLimit.optional(),
    get descriptors() {
      return z.array(descriptor).optional().meta(LIST);
    },
    shadow_mode: z.boolean().optional(),
    detailed_metric: z.boolean().optional(),
    value_to_metric: z.boolean().optional(),
  })
  .meta({ [MESSAGES]: { type: 'a descriptor is a mapping with `key:` and optionally `value:`, `rate_limit:`, `descriptors:`' } });

export const envoyFileSchema = z.strictObject({
  domain: text,
  descriptors: z.array(descriptor).optional().meta(LIST),
});

/** A YAML value with its empty (null) mapping fields taken out: `rate_limit:` is no rate limit. */
export function withoutNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutNulls);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  // defineProperty: a "__proto__" key stays a field (and is refused as unknown), never a prototype.
  for (const [k, x] of Object.entries(v)) if (x !== null) Object.defineProperty(out, k, { value: withoutNulls(x), enumerable: true, writable: true, configurable: true });
  return out;
}
