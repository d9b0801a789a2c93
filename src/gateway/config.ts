import { readFileSync } from 'node:fs';
import { isMap, isPair, isScalar, parseDocument } from 'yaml';
import { z } from 'zod';
import type { SubjectConfig } from '../http/subject.js';

/**
 * The policy file's `subject:` section: how the gateway and middleware turn a request
 * into a subject. Written in the policy's snake_case; `toSubjectConfig` maps it to the
 * programmatic SubjectConfig.
 *
 *   subject:
 *     headers: { x-account-id: account, x-tenant-id: tenant }
 *     set: { region: eu }
 *     api_keys:
 *       header: x-api-key
 *       required: false
 *       keys:
 *         "k_live_123": { account: acme }
 *         "sha256:9f86d0…": { account: globex }
 *     jwt:
 *       claims: { sub: user, tenant_id: tenant }
 *       secret_env: SLUICE_JWT_SECRET        # HS256; or secret, public_key, public_key_file (RS256)
 *       issuer: https://auth.example.com
 *     trusted_proxies: [10.0.0.0/8, "fd00::/8", loopback]
 */
const attributeName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, 'an attribute name: letters, digits, _ . -');
const scalar = z.union([z.string(), z.number(), z.boolean()]);

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

export type SubjectDocument = z.infer<typeof subjectSchema>;

/** Validates a `subject:` section and resolves env/file references into a SubjectConfig. */
export function toSubjectConfig(doc: unknown, where = 'subject'): SubjectConfig {
  const parsed = subjectSchema.safeParse(doc);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${[where, ...i.path.map(String)].join('.')}: ${i.message}`);
    throw new Error(`invalid subject configuration:\n${lines.join('\n')}`);
  }
  const d = parsed.data;
  const out: SubjectConfig = {};
  if (d.headers) out.headers = d.headers;
  if (d.set) out.set = d.set;
  if (d.api_keys) out.apiKeys = { header: d.api_keys.header, required: d.api_keys.required, keys: d.api_keys.keys };
  if (d.jwt) {
    const j = d.jwt;
    let secret = j.secret;
    if (j.secret_env !== undefined) {
      secret = process.env[j.secret_env];
      if (!secret) throw new Error(`invalid subject configuration: ${where}.jwt.secret_env: environment variable ${j.secret_env} is not set`);
    }
    const publicKey = j.public_key ?? (j.public_key_file !== undefined ? readFileSync(j.public_key_file, 'utf8') : undefined);
    out.jwt = {
      header: j.header,
      claims: j.claims,
      secret,
      publicKey,
      issuer: j.issuer,
      audience: j.audience,
      leewaySeconds: j.leeway,
      required: j.required,
      trustUnverified: j.trust_unverified,
    };
  }
  if (d.trusted_proxies) out.trustedProxies = d.trusted_proxies;
  if (d.ip_attribute) out.ipAttribute = d.ip_attribute;
  return out;
}

/**
 * Splits a policy file into the policy proper and its `subject:` section. The section's
 * characters are blanked out (newlines kept), so the policy loader still reports every
 * error at its true line and column, and a policy schema that does not know `subject`
 * yet accepts the rest.
 */
export function splitPolicyText(text: string): { policyText: string; subject?: unknown } {
  const doc = parseDocument(text);
  if (doc.errors.length || !isMap(doc.contents)) return { policyText: text };
  const pair = doc.contents.items.find((it) => isPair(it) && isScalar(it.key) && it.key.value === 'subject');
  if (!pair || !isPair(pair)) return { policyText: text };
  const subject = (pair.value as { toJSON?: () => unknown } | null)?.toJSON?.() ?? null;
  const start = (pair.key as { range?: [number, number, number] }).range?.[0];
  const value = pair.value as { range?: [number, number, number] } | null;
  const end = value?.range?.[2] ?? (pair.key as { range?: [number, number, number] }).range?.[2];
  if (start === undefined || end === undefined) return { policyText: text, subject };
  const blank = text.slice(start, end).replace(/[^\n]/g, ' ');
  return { policyText: text.slice(0, start) + blank + text.slice(end), subject };
}

/**
 * Reads a policy source that may carry a `subject:` section: a file path or YAML text
 * (blanked as above) or a policy object (the key removed). Anything else passes through.
 */
export function readPolicyWithSubject<T>(source: T): { policy: T | string | Record<string, unknown>; file?: string; subject?: SubjectConfig } {
  if (typeof source === 'string') {
    const looksLikePath = !source.includes('\n') && /\.(ya?ml|json)$/i.test(source.trim());
    const file = looksLikePath ? source.trim() : undefined;
    const text = file ? readFileSync(file, 'utf8') : source;
    const { policyText, subject } = splitPolicyText(text);
    if (subject === undefined) return { policy: source, file };
    return { policy: policyText, file, subject: subject === null ? {} : toSubjectConfig(subject) };
  }
  if (source && typeof source === 'object' && !('ruleByName' in source) && 'subject' in source) {
    const { subject, ...rest } = source as Record<string, unknown>;
    return { policy: rest, subject: subject === null ? {} : toSubjectConfig(subject) };
  }
  return { policy: source };
}
