import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Sluice } from '../engine/sluice.js';
import type { CompiledPolicy } from '../policy/compiled.js';
import { createApiApp } from './api-app.js';
import { AdminAuth } from './auth.js';
import { PolicyReloader } from './reload.js';
import { registerAdminRoutes } from './routes/admin.js';
import { resolveTokens, type TokenSources } from './tokens.js';
import { DEFAULT_BODY_LIMIT } from './schemas.js';

/**
 * The admin API on its own, for a front door other than `sluice serve` (the gateway): the
 * same routes (routes/admin.ts), tokens (tokens.ts, auth.ts), reload (reload.ts) and error
 * answers (api-app.ts) as the service's, over an engine the front door already has.
 */
export interface AdminApiOptions extends TokenSources {
  sluice: Sluice;
  log: Logger;
  /** The policy file that POST /v1/admin/reload reads again (absent: reload answers 409). */
  policyFile?: string;
  /** The front door's own check of a reloaded policy (see PolicyReloader's `accept`). */
  acceptPolicy?: (policy: CompiledPolicy) => void;
  /** Largest request body, bytes (default 1 MiB, as the service's). */
  bodyLimit?: number;
}

export interface AdminApi {
  readonly app: FastifyInstance;
  /** Whether any token is configured (without one, every admin route answers 401). */
  readonly enabled: boolean;
  /** Answers one request (a path outside the admin API gets the 404 JSON body). */
  handle(req: IncomingMessage, res: ServerResponse): void;
  close(): Promise<void>;
}

/** Builds the admin API; throws TokenConfigError for a token setup that cannot work. */
export async function createAdminApi(opts: AdminApiOptions): Promise<AdminApi> {
  const tokens = resolveTokens(opts);
  const auth = new AdminAuth(tokens);
  if (!auth.enabled) opts.log.warn('the admin API has no token (--admin-token / --read-token): every admin request answers 401');
  let closing = false;
  const app = createApiApp({ log: opts.log, bodyLimit: opts.bodyLimit ?? DEFAULT_BODY_LIMIT, closing: () => closing });
  const reloader = new PolicyReloader({ sluice: opts.sluice, log: opts.log, file: opts.policyFile, accept: opts.acceptPolicy });
  registerAdminRoutes(app, opts, auth, reloader);
  await app.ready();
  return {
    app,
    enabled: auth.enabled,
    handle: (req, res) => app.routing(req, res),
    async close() {
      closing = true;
      reloader.close();
      await app.close();
    },
  };
}
