import { Transform } from 'node:stream';
import fp from 'fastify-plugin';
import { drainBody } from '../http/drain.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CapExceededError, Enforcer, internalError, JSON_CONTENT_TYPE, logOneLine, type EnforcerOptions, type Prepared, type Refusal } from './core.js';
import { recordAfterResponse, requestInfo } from './node.js';

export type { EnforcerOptions as SluiceFastifyOptions } from './core.js';

const STATE = Symbol('sluice');
type WithState = FastifyRequest & { [STATE]?: Prepared; [CAPPED]?: Refusal };
const CAPPED = Symbol('sluice.capped');

function send(reply: FastifyReply, r: Refusal): void {
  reply.code(r.status).headers(r.headers).type(JSON_CONTENT_TYPE).send(r.body);
}

/**
 * Fastify plugin: `await app.register(sluice, { policy: 'policy.yaml' })`. Applies to the
 * whole app (not encapsulated). Decides in onRequest, meters the body in preParsing,
 * answers a crossed cap with Sluice's JSON body (onSend), records the outcome after the
 * response. `request.sluice` holds the prepared request with its decision.
 */
async function sluicePlugin(app: FastifyInstance, opts: EnforcerOptions): Promise<void> {
  const enforcer = opts.sluice ? Enforcer.fromSluice(opts.sluice, opts.subject, opts.onError, opts.onMissingKey) : await Enforcer.create(opts);
  if (!app.hasRequestDecorator('sluice')) app.decorateRequest('sluice', null);

  app.addHook('onRequest', (request, reply, done) => {
    const req = request as WithState;
    const p = enforcer.prepare(requestInfo(request.raw), request.headers['content-type'], request.headers['content-length']);
    if (p.refused) return send(reply, p);
    req[STATE] = p;
    (request as unknown as { sluice: Prepared }).sluice = p;
    enforcer.decide(p).then((r) => {
      if (r.refused) return send(reply, r);
      reply.headers(p.decision!.headers);
      recordAfterResponse(enforcer, p, reply.raw);
      done();
    }, (err: unknown) => {
      (opts.onError ?? logOneLine)(err);
      send(reply, internalError());
    });
  });

  app.addHook('preParsing', (request, _reply, payload, done) => {
    const req = request as WithState;
    const p = req[STATE];
    const meter = p?.meter;
    if (!p || !meter) return done(null, payload);
    const metered = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        const v = meter.push(chunk);
        if (v) {
          req[CAPPED] = enforcer.capped(p, v);
          return cb(new CapExceededError(v));
        }
        cb(null, chunk);
      },
      flush(cb) {
        const v = meter.end();
        if (v) {
          req[CAPPED] = enforcer.capped(p, v);
          return cb(new CapExceededError(v));
        }
        cb();
      },
    });
    payload.on('error', (e) => metered.destroy(e));
    done(null, payload.pipe(metered));
  });

  // Whatever error handler turned the cap error into, the client gets Sluice's body.
  app.addHook('onSend', (request, reply, payload, done) => {
    const r = (request as WithState)[CAPPED];
    if (!r) return done(null, payload);
    // The rest of the body is discarded within bounds, so the client reads this answer; fastify
    // asks to close after a body error, which is what resets a client still sending.
    drainBody(request.raw);
    reply.removeHeader('connection');
    reply.code(r.status).headers(r.headers).type(JSON_CONTENT_TYPE);
    done(null, r.body);
  });
}

// Not encapsulated: the hooks apply to every route of the app that registers it.
export const sluice = fp(sluicePlugin, { fastify: '5.x', name: 'sluice' });

export default sluice;
