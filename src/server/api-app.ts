import Fastify, { LogController, type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { drainBody } from '../http/drain.js';
import { errorBody } from '../http/errors.js';
import { HttpError } from './respond.js';
import { BodyError } from './validate.js';
import { useJsonBodyParser } from './json-body.js';
import { AllowedMethods } from './allowed-methods.js';

const MAX_PARAM_LENGTH = 1024 * 9;

/**
 * The fastify app behind every Sluice HTTP API (the service's admin, operations and Envoy
 * routes; the gateway's admin API): one set of router options, one 404/405 answer and one
 * error handler, so the same mistake gets the same JSON answer on every port.
 *
 * Trailing slashes: a path with one more "/" is the same route (`GET /v1/admin/policy/` is
 * `GET /v1/admin/policy`), as the decision routes answered on the raw path treat it too
 * (decisionRoute, isEnvoyJson). Before, fastify found no route and the 405 check, which did
 * allow the slash, answered "GET is not supported on /v1/admin/policy/; use GET".
 */
export interface ApiAppOptions {
  log: Logger;
  /** Largest request body, bytes. */
  bodyLimit: number;
  /** Whether shutdown began: a body refused unread then closes the connection. */
  closing: () => boolean;
  /** Paths answered before fastify (POST only), known here so a wrong method on them gets 405. */
  rawPostRoutes?: readonly string[];
}

export function createApiApp(opts: ApiAppOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: opts.log,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: opts.bodyLimit,
    return503OnClosing: true,
    // Attribute values are up to 1,024 characters (checked in the route), percent-encoded
    // up to 9 characters each: fastify's default of 100 answered 414 to documented values.
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH, ignoreTrailingSlash: true },
    // fastify's own 400 (bad URL encoding) and 414 with Sluice's error body.
    frameworkErrors: (error, _req, reply) => {
      const e = error as FastifyError;
      const status = e.statusCode ?? 400;
      (reply as unknown as { code(n: number): { send(b: unknown): void } }).code(status).send(errorBody(status === 414 ? 'uri_too_long' : 'bad_url', e.message));
    },
  }) as unknown as FastifyInstance; // a pino Logger in, the plain FastifyInstance type out

  // JSON only: a text/plain body is refused with 415 rather than read as a string.
  app.removeContentTypeParser('text/plain');
  useJsonBodyParser(app);

  // Every route's methods, so a known path with the wrong method answers 405 with Allow.
  const known = new AllowedMethods(MAX_PARAM_LENGTH);
  for (const p of opts.rawPostRoutes ?? []) known.add(['POST'], p);
  app.addHook('onRoute', (r) => known.add(Array.isArray(r.method) ? r.method : [r.method], r.url));

  app.setNotFoundHandler((req, reply) => {
    const path = (req.raw.url ?? '/').split('?')[0];
    const allowed = known.allowed(path);
    if (allowed.length) {
      const allow = allowed.join(', ');
      reply.code(405).header('allow', allow).send(errorBody('method_not_allowed', `${req.method} is not supported on ${path}; use ${allow}`, { allow: allowed }));
      return;
    }
    reply.code(404).send(errorBody('not_found', `no such endpoint: ${req.method} ${path} (see /openapi.json)`));
  });

  app.setErrorHandler((error: FastifyError | Error, req, reply) => {
    // A body refused unread (too large, wrong type) is read and discarded within bounds,
    // so the client gets the answer instead of a reset (see http/drain.ts).
    drainBody(req.raw);
    if (!opts.closing()) reply.removeHeader('connection'); // fastify asks to close after a 413: that is what resets the client
    if (error instanceof BodyError) {
      reply.code(error.status).send(error.body());
      return;
    }
    if (error instanceof HttpError) {
      reply.code(error.status).headers(error.headers).send(errorBody(error.code, error.message, error.extra));
      return;
    }
    const code = (error as FastifyError).code;
    const status = (error as FastifyError).statusCode ?? 500;
    switch (code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        reply.code(413).send(errorBody('payload_too_large', `the request body is larger than ${opts.bodyLimit} bytes`));
        return;
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        reply.code(415).send(errorBody('unsupported_media_type', `send the body as application/json (got ${req.headers['content-type'] ?? 'no content-type'})`));
        return;
    }
    if ((error as FastifyError).validation) {
      reply.code(400).send(errorBody('invalid_request', error.message));
      return;
    }
    if (status >= 400 && status < 500) {
      reply.code(status).send(errorBody(code ? code.toLowerCase() : 'bad_request', error.message));
      return;
    }
    opts.log.error({ err: error }, 'request failed');
    reply.code(500).send(errorBody('internal_error', 'an unexpected error occurred; the request may be retried'));
  });
  return app;
}
