import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Sluice } from '../engine/sluice.js';
import { answerClientErrors, listen, refuseWithoutHost, SERVER_OPTIONS } from '../http/plain-server.js';
import { trackConnections } from '../http/graceful-close.js';

/**
 * The admin API inside the gateway (`sluice gateway --admin-token …`). The gateway serves
 * whatever admin handler it is given, over its own engine: the service's admin API
 * (createAdminApi in sluice/server: the same routes, tokens, reload and error answers as
 * `sluice serve`), composed by the CLI (or the caller) so this layer stays independent of the
 * service's. It is served on its own port (`port`), or, without one, under /v1/admin on the
 * gateway's port, where those paths are answered by the gateway and never forwarded upstream.
 */
export interface AdminHandler {
  handle(req: IncomingMessage, res: ServerResponse): void;
  close(): Promise<void>;
}

export interface GatewayAdminOptions {
  /** Makes the admin handler for the gateway's engine, e.g. `(sluice) => createAdminApi({ sluice, log, adminToken })`. */
  api: (sluice: Sluice) => AdminHandler | Promise<AdminHandler>;
  /** Serve it on its own port (0: any free one), same host as the gateway. Absent: on the gateway's port. */
  port?: number;
}

export interface GatewayAdmin {
  /** Answers an admin request that came in on the gateway's port; undefined when the admin API has a port of its own. */
  readonly handle?: (req: IncomingMessage, res: ServerResponse) => void;
  readonly port?: number;
  close(graceMs: number): Promise<void>;
}

export async function startGatewayAdmin(sluice: Sluice, opts: GatewayAdminOptions, host: string): Promise<GatewayAdmin> {
  const api = await opts.api(sluice);
  if (opts.port === undefined) return { handle: (req, res) => api.handle(req, res), close: () => api.close() };

  const server: Server = createServer(SERVER_OPTIONS, (req, res) => refuseWithoutHost(req, res) || api.handle(req, res));
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
    async close(graceMs) {
      await closer.close(graceMs);
      await api.close();
    },
  };
}

/** Whether a request path is the admin API's (/v1/admin and below): answered by the gateway, never forwarded, when the admin API shares its port. */
export function isAdminPath(url: string | undefined): boolean {
  if (url === undefined || !url.startsWith('/v1/admin')) return false;
  const next = url.charCodeAt(9);
  return Number.isNaN(next) || next === 0x2f /* / */ || next === 0x3f /* ? */;
}
