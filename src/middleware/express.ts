import type { IncomingMessage, ServerResponse } from 'node:http';
import { Enforcer, internalError, logOneLine, unavailable, type EnforcerOptions, type Prepared } from './core.js';
import { meterIncoming, recordAfterResponse, requestInfo, sendRefusal, setHeaders } from './node.js';

export type { EnforcerOptions as SluiceMiddlewareOptions } from './core.js';

type Req = IncomingMessage & { originalUrl?: string; sluice?: Prepared };
type Next = (err?: unknown) => void;

export interface ExpressSluice {
  (req: IncomingMessage, res: ServerResponse, next: Next): void;
  /** Resolves once the engine is open (immediately when given `sluice`). */
  readonly ready: Promise<Enforcer>;
}

/**
 * Express middleware: `app.use(sluice({ policy: 'policy.yaml' }))`, mounted before body
 * parsers. Every response gets the RateLimit headers; denials and drops are answered with
 * the rule's status and JSON body; payload caps are checked as the body streams; the
 * status and bytes sent are recorded after the response. `req.sluice` holds the decision.
 */
export function sluice(opts: EnforcerOptions): ExpressSluice {
  let enforcer: Enforcer | undefined = opts.sluice ? Enforcer.fromSluice(opts.sluice, opts.subject, opts.onError, opts.onMissingKey) : undefined;
  const ready = enforcer ? Promise.resolve(enforcer) : Enforcer.create(opts).then((e) => (enforcer = e));
  // A policy or setting that cannot be used is said once, at startup; requests then get 500 JSON, never a stack page.
  ready.catch(opts.onError ?? logOneLine);

  const run = (e: Enforcer, req: Req, res: ServerResponse, next: Next): void => {
    const p = e.prepare(requestInfo(req, req.originalUrl), req.headers['content-type'], req.headers['content-length']);
    if (p.refused) return sendRefusal(req, res, p);
    req.sluice = p;
    // Installed synchronously, before the decision is awaited, so no chunk slips past.
    meterIncoming(req, p, () => sendRefusal(req, res, e.capped(p, p.meter!.violation!)));
    e.decide(p).then((r) => {
      if (p.capped) return;
      if (r.refused) return sendRefusal(req, res, r);
      setHeaders(res, p.decision!.headers);
      recordAfterResponse(e, p, res);
      next();
    }, (err: unknown) => {
      (opts.onError ?? logOneLine)(err);
      sendRefusal(req, res, internalError());
    });
  };

  const middleware = (req: IncomingMessage, res: ServerResponse, next: Next): void => {
    if (enforcer) return run(enforcer, req, res, next);
    ready.then((e) => run(e, req, res, next), () => sendRefusal(req, res, unavailable()));
  };
  return Object.assign(middleware, { ready });
}

export default sluice;
