import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import type { Sluice } from '../engine/sluice.js';
import { answerClientErrors, listen, refuseWithoutHost, SERVER_OPTIONS } from '../http/plain-server.js';
import { trackConnections } from '../http/graceful-close.js';
import { createAdminApi } from '../server/admin-api.js';
import type { TokenSources } from '../server/tokens.js';

/**
 * The admin API inside the gateway (`sluice gateway --admin-token …`): the service's own
 * admin routes (src/server/admin-api.ts) over the gateway's engine, so overrides, attributes
 * such as licensed_agents, resets, inspect and policy reloads need no second process. It is
 * served on its own port (`port`), or, without one, under /v1/admin on the gateway's port,
 * where those paths are answered by the gateway and never forwarded upstream.
 */
export interface GatewayAdminOptions extends TokenSources {
  /** Serve the admin API on its own port (0: any free one), same host as the gateway. Absent: on the gateway's port. */
  port?: number;
  /** The policy file POST /v1/admin/reload reads again (default: the gateway's `policy`, when it names a file). */
  policyFile?: string;
  /** Where admin changes are logged with who made them. Default: JSON lines on stderr. */
  log?: Logger;
}

export interface GatewayAdmin {
  /** Answers an admin request that came in on the gateway's port; undefined when the admin API has a port of its own. */
  readonly handle?: (req: IncomingMessage, res: ServerResponse) => void;
  readonly port?: number;
  readonly server?: Server;
  close(graceMs: number): Promise<void>;
}

export async function startGatewayAdmin(sluice: Sluice, opts: GatewayAdminOptions, host: string, policyFile: string | undefined): Promise<GatewayAdmin> {
  const log = opts.log ?? pino({ base: { service: 'sluice-gateway' } }, pino.destination(2));
  const api = await createAdminApi({ ...opts, sluice, log, policyFile: opts.policyFile ?? policyFile });
  if (!api.enabled) log.warn('the gateway admin API has no token (--admin-token / --read-token): every admin request answers 401');
  if (opts.port === undefined) return { handle: api.handle, close: () => api.close() };

  const server = createServer(SERVER_OPTIONS, (req, res) => refuseWithoutHost(req, res) || api.handle(req, res));
  answerClientErrors(server);
  const closer = trackConnections(server);
  try {
    await listen(server, opts.port, host);
  } catch (e) {
    await api.close();
    throw e;
  }
  return {
    port: (server.address() as AddressInfo).port,
    server,
    async close(graceMs) {
      await closer.close(graceMs);
      await api.close();
    },
  };
}
