import { readFileSync } from 'node:fs';
import { subjectSchema } from '../policy/schema.js';
import type { SubjectConfig } from './subject.js';

/**
 * The policy file's `subject:` section (its schema is in src/policy/schema.ts): how the
 * gateway and middleware turn a request into a subject. Written in the policy's
 * snake_case; `toSubjectConfig` maps it to the programmatic SubjectConfig.
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
