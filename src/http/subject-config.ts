import { readFileSync } from 'node:fs';
import { ConfigError } from '../policy/errors.js';
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
 *     ip_prefix: { v4: 32, v6: 64 }           # key IPv6 clients on their /64 (ip = "2001:db8:1:2::/64")
 */

/** Validates a `subject:` section and resolves env/file references into a SubjectConfig. */
export function toSubjectConfig(doc: unknown, where = 'subject'): SubjectConfig {
  const parsed = subjectSchema.safeParse(doc);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${[where, ...i.path.map(String)].join('.')}: ${i.message}`);
    throw new ConfigError(`invalid subject configuration: ${lines.join('; ')}`);
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
      if (!secret) throw new ConfigError(`${where}.jwt.secret_env: environment variable ${j.secret_env} is not set (the JWT secret); set it before starting, e.g. ${j.secret_env}=$(openssl rand -hex 32)`);
    }
    const publicKey = j.public_key ?? (j.public_key_file !== undefined ? readKeyFile(j.public_key_file, `${where}.jwt.public_key_file`) : undefined);
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
  if (d.ip_prefix) out.ipPrefix = d.ip_prefix;
  return out;
}

function readKeyFile(file: string, where: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`${where}: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}
