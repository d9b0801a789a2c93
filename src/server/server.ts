import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { drainBody } from '../http/drain.js';
import { errorBody } from '../http/errors.js';
import { createApiApp } from './api-app.js';
import { answerClientErrors, refuseWithoutHost, SERVER_OPTIONS } from '../http/plain-server.js';
import type { AdminAuth } from './auth.js';
import type { ServerContext } from './context.js';
import { registerEnvoyJson, type EnvoyRateLimiter } from '../envoy/index.js';
import type { PolicyReloader } from './reload.js';
import { registerAdminRoutes } from './routes/admin.js';
import { decisionRoute, DECISION_ROUTES, handleDecision } from './routes/decisions.js';
import { envoyFailureLogger, handleEnvoyJson, isEnvoyJson } from './routes/envoy-json.js';
import { registerOpsRoutes } from './routes/ops.js';
import { registerDashboardRoutes } from '../dashboard/routes.js';

export interface BuiltServer {
  app: FastifyInstance;
  server: Server;
  /** The admin API's own server, when it has its own port (`separate.admin`). */
  adminServer?: Server;
  /** Envoy's POST /json on its own server, when it has its own port (`separate.envoy`). */
  envoyServer?: Server;
}

/** Which parts are served apart from the decision API, on servers of their own. */
export interface Separate {
  admin?: boolean;
  envoy?: boolean;
}

/**
 * Builds the service: a node:http server whose request handler serves the decision API
 * itself (the hot path) and hands every other request to fastify (admin, operations,
 * Envoy's POST /json, errors). Nothing listens until the caller says so.
 */
export async function buildServer(ctx: ServerContext, auth: AdminAuth, reloader: PolicyReloader, envoy?: EnvoyRateLimiter, separate: Separate = {}): Promise<BuiltServer> {
  const app = createApiApp({ log: ctx.log, bodyLimit: ctx.bodyLimit, closing: () => ctx.closing, rawPostRoutes: DECISION_ROUTES });

  // A plain node:http server owns the socket: the decision routes are answered right here,
  // everything else goes through fastify's router (app.routing), so the serve() that listens
  // also closes. Keep-alive outlasts the 60 s idle timeout of common load balancers, so they
  // never reuse a connection the service is closing.
  const server = createServer(SERVER_OPTIONS, (req: IncomingMessage, res: ServerResponse) => {
    if (refuseWithoutHost(req, res)) return;
    const route = decisionRoute(req);
    if (route !== undefined) handleDecision(ctx, route, req, res);
    else if (envoy && !separate.envoy && isEnvoyJson(req)) handleEnvoyJson(ctx, envoy, req, res);
    else app.routing(req, res);
  });
  answerClientErrors(server);
  // The admin API's and Envoy's own servers, when they have their own ports: fastify's routes,
  // with each request tagged with the door it came in by (checked against its route below).
  const through = (door: Door) =>
    apart((req, res) => {
      if (decisionRoute(req) !== undefined) return notFound(req, res, 'the decision API is served on the main port');
      if (door === 'envoy' && envoy && isEnvoyJson(req)) return handleEnvoyJson(ctx, envoy, req, res);
      (req as Tagged)[DOOR] = door;
      app.routing(req, res);
    });
  const adminServer = separate.admin ? through('admin') : undefined;
  const envoyServer = separate.envoy ? through('envoy') : undefined;

  // A route served on its own port is not found anywhere else: decided on the route fastify
  // matched (after its decoding of the path), not on the raw URL.
  app.addHook('onRequest', (req, reply, done) => {
    const why = misplaced((req.raw as Tagged)[DOOR] ?? 'public', req.routeOptions.url, separate);
    if (why === undefined) return done();
    notFound(req.raw, reply.hijack().raw, why);
  });

  app.addHook('onRequest', (_req, reply, done) => {
    if (ctx.closing) reply.header('connection', 'close');
    done();
  });

  registerOpsRoutes(app, ctx);
  registerAdminRoutes(app, ctx, auth, reloader);
  if (ctx.dashboard) registerDashboardRoutes(app, { sluice: ctx.sluice, log: ctx.log, auth, recorder: ctx.dashboard });

  // ---- ENVOY HOOK ----------------------------------------------------------------
  // Envoy's rate-limit protocol (src/envoy): with an envoy ratelimit config (serve's
  // `envoyConfig`), POST /json is mounted here over the same store (the raw handler
  // above answers POSTs; fastify's route gives other methods their 405); the gRPC
  // RateLimitService is started by serve() on `grpcPort`.
  if (envoy) {
    registerEnvoyJson(app, envoy, { onError: envoyFailureLogger(ctx.log, '/json') });
  }
  // ---------------------------------------------------------------------------------

  await app.ready();
  return { app, server, adminServer, envoyServer };
}

function apart(handler: (req: IncomingMessage, res: ServerResponse) => void): Server {
  const server = createServer(SERVER_OPTIONS, (req, res) => refuseWithoutHost(req, res) || handler(req, res));
  answerClientErrors(server);
  return server;
}

type Door = 'public' | 'admin' | 'envoy';
const DOOR = Symbol('sluice.door');
type Tagged = IncomingMessage & { [DOOR]?: Door };

/** Why a route may not be answered through a door (undefined: it may). */
function misplaced(door: Door, route: string | undefined, separate: Separate): string | undefined {
  if (route === undefined) return undefined; // not found anyway
  const admin = route === '/v1/admin' || route.startsWith('/v1/admin/');
  const envoy = route === '/json';
  if (door === 'envoy') return envoy ? undefined : 'this port serves Envoy’s rate-limit protocol only (POST /json)';
  if (envoy && separate.envoy) return 'Envoy’s rate-limit protocol is served on its own port (--envoy-port)';
  if (door === 'public' && admin && separate.admin) return 'the admin API is served on its own port (--admin-port)';
  return undefined;
}

/** 404 for a route served through another door, with a JSON body saying where. */
function notFound(req: IncomingMessage, res: ServerResponse, where: string): void {
  drainBody(req);
  const body = JSON.stringify(errorBody('not_found', `no such endpoint here: ${req.method} ${(req.url ?? '/').split('?')[0]}; ${where}`));
  res.writeHead(404, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
