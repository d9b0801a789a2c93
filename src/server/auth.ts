import { createHash, timingSafeEqual } from 'node:crypto';
import { HttpError } from './respond.js';

/** Who a bearer token belongs to: "admin" may change things, "read" may only look. */
export type Role = 'admin' | 'read';

export interface Principal {
  /** The token's name, written to the audit log as "who". */
  name: Role;
  canWrite: boolean;
}

const CHALLENGE = 'Bearer realm="sluice-admin"';

/**
 * Bearer-token authentication for the admin API. Tokens are compared as SHA-256
 * digests with timingSafeEqual, so neither their content nor their length leaks
 * through response timing.
 */
export class AdminAuth {
  private readonly tokens: { digest: Buffer; principal: Principal }[] = [];

  constructor(opts: { adminToken?: string; readToken?: string }) {
    if (opts.adminToken) this.tokens.push({ digest: digest(opts.adminToken), principal: { name: 'admin', canWrite: true } });
    if (opts.readToken) this.tokens.push({ digest: digest(opts.readToken), principal: { name: 'read', canWrite: false } });
  }

  get enabled(): boolean {
    return this.tokens.length > 0;
  }

  /** The principal behind an Authorization header; throws 401 (with WWW-Authenticate) or 403. */
  authorize(header: string | undefined, write: boolean): Principal {
    if (!this.enabled) {
      throw new HttpError(401, 'unauthorized', 'the admin API is disabled: no admin or read token is configured (set --admin-token / SLUICE_ADMIN_TOKEN)', {}, { 'www-authenticate': CHALLENGE });
    }
    const m = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) {
      throw new HttpError(401, 'unauthorized', 'send an admin or read token as "Authorization: Bearer <token>"', {}, { 'www-authenticate': CHALLENGE });
    }
    const given = digest(m[1]);
    let found: Principal | undefined;
    for (const t of this.tokens) if (timingSafeEqual(t.digest, given)) found = t.principal;
    if (!found) {
      throw new HttpError(401, 'unauthorized', 'the bearer token is not valid', {}, { 'www-authenticate': `${CHALLENGE}, error="invalid_token"` });
    }
    if (write && !found.canWrite) {
      throw new HttpError(403, 'forbidden', 'the read-only token cannot make changes; use the admin token');
    }
    return found;
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
