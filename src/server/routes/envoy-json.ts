import type { IncomingMessage, ServerResponse } from 'node:http';
import { decideJson, type EnvoyRateLimiter } from '../../envoy/index.js';
import type { ServerContext } from '../context.js';
import { readRawBody } from '../raw-body.js';
import { sendJson } from '../respond.js';
import { answerError } from './decisions.js';

/**
 * Envoy's POST /json on the service's raw node:http path, like the decision API: the
 * body is read here (any content type, as envoyproxy/ratelimit takes it: its examples
 * post with curl -d), decided by the same decideJson as the fastify route, and the
 * answer joins the turn's write batch. Through fastify's router, body parser and
 * serializer it ran at 0.40 of the bare server (issue 16). Any other method on /json
 * still goes to fastify, which answers 405.
 */
export function isEnvoyJson(req: IncomingMessage): boolean {
  if (req.method !== 'POST') return false;
  const url = req.url ?? '';
  return url === '/json' || url.startsWith('/json?') || url === '/json/' || url.startsWith('/json/?');
}

export function handleEnvoyJson(ctx: ServerContext, limiter: EnvoyRateLimiter, req: IncomingMessage, res: ServerResponse): void {
  readRawBody(ctx, req, res, (raw) => {
    decideJson(limiter, raw, onStoreError(ctx)).then(
      ({ status, body }) => ctx.writes.add(() => sendJson(res, status, JSON.stringify(body), undefined, ctx.closing)),
      (e) => answerError(ctx, res, e),
    );
  });
}

const warned = new WeakMap<ServerContext, (e: unknown) => void>();
function onStoreError(ctx: ServerContext): (e: unknown) => void {
  let f = warned.get(ctx);
  if (f === undefined) warned.set(ctx, (f = (e) => ctx.log.warn({ err: e }, 'envoy /json: store failed')));
  return f;
}
