import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { decideJsonText, decideJsonTextSync, EnvoyStoreError, type EnvoyRateLimiter } from '../../envoy/index.js';
import type { ServerContext } from '../context.js';
import { readRawBody } from '../raw-body.js';
import { sendJson } from '../respond.js';
import { answerError } from './decisions.js';

/**
 * Envoy's POST /json on the service's raw node:http path, like the decision API: the
 * body is read here (any content type, as envoyproxy/ratelimit takes it: its examples
 * post with curl -d), decided as the fastify route decides it, rendered by hand
 * (responseJson), and the answer joins the turn's write batch. Through fastify's router, body parser and serializer it ran at 0.40 of the bare
 * server (issue 16). Any other method on /json still goes to fastify, which answers 405.
 */
export function isEnvoyJson(req: IncomingMessage): boolean {
  if (req.method !== 'POST') return false;
  const url = req.url ?? '';
  return url === '/json' || url.startsWith('/json?') || url === '/json/' || url.startsWith('/json/?');
}

export function handleEnvoyJson(ctx: ServerContext, limiter: EnvoyRateLimiter, req: IncomingMessage, res: ServerResponse): void {
  readRawBody(ctx, req, res, decide, limiter);
}

function decide(ctx: ServerContext, res: ServerResponse, raw: string, limiter: EnvoyRateLimiter): void {
  if (ctx.sync) {
    // A synchronous store (memory, SQLite): no promise per request; the turn's group commit
    // (the write batch's beforeWrites) still precedes the answer.
    let answer: { status: number; body: string };
    try {
      answer = decideJsonTextSync(limiter, raw, onStoreError(ctx));
    } catch (e) {
      answerError(ctx, res, e);
      return;
    }
    ctx.writes.add(send, ctx, res, answer);
    return;
  }
  decideJsonText(limiter, raw, onStoreError(ctx)).then(
    (answer) => ctx.writes.add(send, ctx, res, answer),
    (e) => answerError(ctx, res, e),
  );
}

function send(ctx: ServerContext, res: ServerResponse, answer: { status: number; body: string }): void {
  sendJson(res, answer.status, answer.body, undefined, ctx.closing);
}

/**
 * What an Envoy door logs of a failed decision. A store failure is not logged here: the
 * engine's FailureLog already writes one line per interval with a count (a line per request
 * flooded the log during an outage); anything else is unexpected and logged whole.
 */
export function envoyFailureLogger(log: Logger, door: string): (e: unknown) => void {
  return (e) => {
    if (!(e instanceof EnvoyStoreError)) log.error({ err: e }, `envoy ${door}: decision failed`);
  };
}

const loggers = new WeakMap<ServerContext, (e: unknown) => void>();
function onStoreError(ctx: ServerContext): (e: unknown) => void {
  let f = loggers.get(ctx);
  if (f === undefined) loggers.set(ctx, (f = envoyFailureLogger(ctx.log, '/json')));
  return f;
}
