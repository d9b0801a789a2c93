import type { IncomingMessage } from 'node:http';
import type { Context, MiddlewareHandler } from 'hono';
import { forwardedForLines } from './node.js';
import { CapExceededError, Enforcer, logOneLine, refusalHeaders, unavailable, type EnforcerOptions, type Prepared, type Refusal } from './core.js';

export interface SluiceHonoOptions extends EnforcerOptions {
  /**
   * The client's socket address. Default: @hono/node-server's `c.env.incoming.socket`;
   * on other runtimes pass the platform's (e.g. Deno's `info.remoteAddr`).
   */
  remoteAddress?: (c: Context) => string | undefined;
}

type NodeEnv = { incoming?: IncomingMessage; outgoing?: { once(ev: 'close', fn: () => void): unknown } };

function respond(r: Refusal): Response {
  return new Response(r.body, { status: r.status, headers: refusalHeaders(r) });
}

/**
 * Hono middleware: `app.use('*', sluice({ policy: 'policy.yaml' }))`. Same behaviour as
 * the gateway and the other adapters: headers on every response, denial and drop bodies,
 * payload caps metered as the body streams (the request's body is swapped for a metered
 * stream), outcome and bytes recorded after the response. `c.get('sluice')` holds the
 * prepared request with its decision.
 */
export function sluice(opts: SluiceHonoOptions): MiddlewareHandler {
  let enforcer: Enforcer | undefined = opts.sluice ? Enforcer.fromSluice(opts.sluice, opts.subject, opts.onError, opts.onMissingKey) : undefined;
  const ready = enforcer ? Promise.resolve(enforcer) : Enforcer.create(opts).then((e) => (enforcer = e));
  ready.catch(opts.onError ?? logOneLine);
  const addressOf = opts.remoteAddress ?? ((c: Context) => (c.env as NodeEnv | undefined)?.incoming?.socket?.remoteAddress);

  return async (c, next) => {
    let e: Enforcer;
    try {
      e = enforcer ?? (await ready);
    } catch {
      return respond(unavailable());
    }
    const raw = c.req.raw;
    const incoming = (c.env as NodeEnv | undefined)?.incoming;
    const url = raw.url;
    const slash = url.indexOf('/', url.indexOf('//') + 2);
    const p = e.prepare(
      {
        method: raw.method,
        url: slash < 0 ? '/' : url.slice(slash),
        headers: raw.headers,
        remoteAddress: addressOf(c),
        // Fetch Headers join repeated lines; @hono/node-server's request still has them apart.
        forwardedFor: incoming?.rawHeaders ? forwardedForLines(incoming) : undefined,
        rawHeaders: incoming?.rawHeaders,
      },
      raw.headers.get('content-type') ?? undefined,
      raw.headers.get('content-length'),
    );
    if (p.refused) return respond(p);
    c.set('sluice' as never, p as never);
    const r = await e.decide(p);
    if (r.refused) return respond(r);

    let capped: Refusal | undefined;
    if (p.meter && raw.body) {
      const meter = p.meter;
      const fail = (v: NonNullable<Prepared['capped']>, ctrl: TransformStreamDefaultController<Uint8Array>) => {
        capped = e.capped(p, v);
        ctrl.error(new CapExceededError(v));
      };
      const metered = raw.body.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, ctrl) {
            const v = meter.push(chunk);
            if (v) fail(v, ctrl);
            else ctrl.enqueue(chunk);
          },
          flush(ctrl) {
            const v = meter.end();
            if (v) fail(v, ctrl);
          },
        }),
      );
      c.req.raw = new Request(url, { method: raw.method, headers: raw.headers, body: metered, signal: raw.signal, duplex: 'half' } as RequestInit);
    }

    await next();

    if (capped) {
      // Whatever the handler or onError made of the broken body, the client gets Sluice's answer.
      c.res = undefined;
      c.res = respond(capped);
      return;
    }
    const headers = p.decision!.headers;
    try {
      for (const k in headers) c.res.headers.set(k, headers[k]);
    } catch {
      // immutable headers (a fetched Response): copy it
      const copy = new Response(c.res.body, c.res);
      for (const k in headers) copy.headers.set(k, headers[k]);
      c.res = undefined;
      c.res = copy;
    }
    if (p.record === 'none') return;
    const status = c.res.status;
    const body = c.res.body;
    if (p.record === 'status' || !body) {
      e.finish(p, status, 0);
      return;
    }
    let bytes = 0;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      e.finish(p, status, bytes);
    };
    (c.env as NodeEnv | undefined)?.outgoing?.once('close', finish);
    const counted = body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, ctrl) {
          bytes += chunk.byteLength;
          ctrl.enqueue(chunk);
        },
        flush: finish,
      }),
    );
    const res = new Response(counted, c.res);
    c.res = undefined;
    c.res = res;
  };
}

export default sluice;
