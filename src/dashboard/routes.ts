import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Sluice } from '../engine/sluice.js';
import { usageNow } from '../engine/usage-now.js';
import { errorBody } from '../http/errors.js';
import { readAsset } from './assets.js';
import { Fleet } from './fleet.js';
import type { DashboardRecorder, RefusedKey } from './recorder.js';
import { TIERS } from './series.js';

/**
 * Every dashboard response (page, files, data, errors) carries this policy: only the
 * service's own scripts, styles and connections; nothing inline, no frames, no forms
 * posting elsewhere.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
} as const;

const MAX_TOP = 50;

/**
 * The dashboard: the page and its files under /dashboard (public: the page holds no
 * data and no secrets), and its data under /v1/dashboard/* (the read or admin token, as
 * the admin API). Changes go through the admin API itself, with the admin token.
 */
/** Who a bearer token belongs to; throws the service's own 401 (the admin API's check, handed in). */
export interface TokenCheck {
  authorize(header: string | undefined, write: boolean): { name: string; canWrite: boolean };
}

/** A bad request to a dashboard route, answered as `{ error: { code, message, path? } }`. */
class DashboardError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** Answers a DashboardError itself; anything else (the token check's 401) goes to the service's error handler. */
function guarded<R extends FastifyRequest>(f: (req: R, reply: FastifyReply) => Promise<unknown>) {
  return async (req: R, reply: FastifyReply) => {
    try {
      return await f(req, reply);
    } catch (e) {
      if (!(e instanceof DashboardError)) throw e;
      reply.code(e.status);
      return errorBody(e.code, e.message, e.extra);
    }
  };
}

export function registerDashboardRoutes(app: FastifyInstance, deps: { sluice: Sluice; log: Logger; auth: TokenCheck; recorder: DashboardRecorder }): void {
  const { sluice, auth, recorder } = deps;
  // Several services may share a process (tests, embedding): the suffix tells them apart in the fleet.
  const instance = `${hostname()}:${process.pid}:${randomBytes(2).toString('hex')}`;
  const fleet = Fleet.over(sluice.store, instance, recorder, deps.log)?.start();
  if (fleet) app.addHook('onClose', async () => fleet.close());
  const reader = (req: FastifyRequest) => auth.authorize(req.headers.authorization, false);

  app.addHook('onRequest', (req, reply, done) => {
    const url = req.raw.url ?? '';
    if (url.startsWith('/dashboard') || url.startsWith('/v1/dashboard')) reply.headers(SECURITY_HEADERS);
    if (url.startsWith('/v1/dashboard')) reply.header('cache-control', 'no-store');
    done();
  });

  const page = async (name: string, reply: FastifyReply) => {
    const a = readAsset(name);
    if (!a) throw new DashboardError(404, 'not_found', `no such dashboard file: ${name}`);
    reply.header('content-type', a.type).header('cache-control', 'no-cache');
    return a.body;
  };
  app.get('/dashboard', guarded(async (_req, reply) => page('index.html', reply)));
  app.get<{ Params: { file: string } }>('/dashboard/:file', guarded(async (req: FastifyRequest<{ Params: { file: string } }>, reply) => page(req.params.file, reply)));

  app.get('/v1/dashboard/whoami', async (req) => {
    const p = reader(req);
    return { role: p.name, canWrite: p.canWrite, instance };
  });

  type LiveQuery = { Querystring: { step?: string; points?: string } };
  app.get<LiveQuery>('/v1/dashboard/live', guarded(async (req: FastifyRequest<LiveQuery>) => {
    reader(req);
    const step = intParam(req.query.step, 'step', TIERS[0].stepMs);
    const tier = TIERS.find((t) => t.stepMs === step);
    if (!tier) throw new DashboardError(400, 'invalid_request', `step must be one of ${TIERS.map((t) => t.stepMs).join(', ')} (ms)`, { path: 'step' });
    const points = intParam(req.query.points, 'points', tier.slots);
    if (points < 1 || points > tier.slots) throw new DashboardError(400, 'invalid_request', `points must be 1 to ${tier.slots} at step ${step}`, { path: 'points' });
    const now = sluice.now();
    return {
      now,
      instance,
      resolutions: TIERS.map((t) => ({ stepMs: t.stepMs, points: t.slots })),
      rules: recorder.series(step, points, now),
      health: await health(sluice),
      latency: recorder.latencySummary(),
      reloads: recorder.recentReloads(),
      policy: { source: sluice.policy.source, rules: sluice.policy.rules.length },
    };
  }));

  app.get('/v1/dashboard/fleet', async (req) => {
    reader(req);
    if (!fleet) return { enabled: false, reason: `the store (${sluice.store.name}) is not shared through Redis`, instance };
    return { enabled: true, instance, ...(await fleet.view(sluice.now())) };
  });

  type TopQuery = { Querystring: { n?: string } };
  app.get<TopQuery>('/v1/dashboard/top', guarded(async (req: FastifyRequest<TopQuery>) => {
    reader(req);
    const n = intParam(req.query.n, 'n', 10);
    if (n < 1 || n > MAX_TOP) throw new DashboardError(400, 'invalid_request', `n must be 1 to ${MAX_TOP}`, { path: 'n' });
    const overall = recorder.topRefused(n);
    const perRule: Record<string, RefusedKey[]> = {};
    for (const rule of recorder.refusingRules()) perRule[rule] = recorder.topRefused(n, rule);
    return { now: sluice.now(), overall: await withUsage(sluice, overall), rules: await mapValues(perRule, (list) => withUsage(sluice, list)) };
  }));
}

async function health(s: Sluice) {
  let keys: number | null = null;
  let storeError: string | undefined;
  try {
    keys = await s.store.size();
  } catch (e) {
    storeError = (e as Error).message;
  }
  // The engine's breaker: open means decisions skip the store (and fall back) until a probe succeeds.
  const circuit = s.breaker.open ? 'open' : 'closed';
  return { store: s.store.name, keysTracked: keys, ...s.counters, circuit, circuitTrips: s.breaker.trips, ...(storeError ? { storeError } : {}) };
}

/**
 * Each refused key's current usage under its rule, peeked (charging nothing) from the subject kept
 * for it. `used` is the real count (as admin inspect's), past the limit when usage went past it:
 * limit − remaining stopped at the limit, so a key hammered far past it looked merely full.
 */
async function withUsage(sluice: Sluice, keys: RefusedKey[]) {
  return Promise.all(
    keys.map(async (k) => {
      let usage = null;
      if (k.sample) {
        try {
          const peek = (await sluice.peek(k.sample)).find((p) => p.rule.name === k.rule && p.key === k.stateKey);
          if (peek) {
            const u = peek.usage;
            const blocked = peek.block?.blocked ?? false;
            const [used] = await usageNow(sluice, [peek], sluice.now());
            usage = { used, limit: u.limit, over: used > u.limit, windowMs: u.windowMs, remaining: blocked ? 0 : u.remaining, blocked, retryAfterMs: blocked ? peek.block!.retryAfterMs : u.retryAfterMs };
          }
        } catch {
          // A failing store shows in health; the list still answers.
        }
      }
      return { rule: k.rule, key: k.key, stateKey: k.stateKey, count: k.count, error: k.error, usage };
    }),
  );
}

async function mapValues<A, B>(o: Record<string, A>, f: (a: A) => Promise<B>): Promise<Record<string, B>> {
  const out: Record<string, B> = {};
  for (const [k, v] of Object.entries(o)) out[k] = await f(v);
  return out;
}

function intParam(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined || v === '') return dflt;
  if (!/^\d{1,9}$/.test(v)) throw new DashboardError(400, 'invalid_request', `${name} must be a whole number (got ${JSON.stringify(v.slice(0, 40))})`, { path: name });
  return Number(v);
}
