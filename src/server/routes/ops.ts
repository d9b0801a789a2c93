import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { openapiDocument } from '../openapi.js';

const PING_TIMEOUT_MS = 2000;

/** Operations: Prometheus metrics, liveness, readiness, and the OpenAPI description. */
export function registerOpsRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', ctx.metrics.contentType);
    return ctx.metrics.text();
  });

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_req, reply) => {
    const policy = ctx.sluice.policy;
    const store = ctx.sluice.store.name;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        ctx.sluice.store.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${PING_TIMEOUT_MS} ms`)), PING_TIMEOUT_MS);
        }),
      ]);
    } catch (e) {
      reply.code(503);
      return { error: { code: 'not_ready', message: `the store (${store}) is not reachable: ${(e as Error).message}`, store } };
    } finally {
      clearTimeout(timer);
    }
    if (ctx.closing) {
      reply.code(503);
      return { error: { code: 'shutting_down', message: 'the service is shutting down' } };
    }
    return { status: 'ready', store, policy: { source: policy.source, rules: policy.rules.length } };
  });

  let doc: string | undefined;
  app.get('/openapi.json', async (_req, reply) => {
    reply.header('content-type', 'application/json; charset=utf-8');
    return (doc ??= JSON.stringify(openapiDocument({ bodyLimit: ctx.bodyLimit })));
  });
}
