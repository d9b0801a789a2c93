import type { FastifyInstance, FastifyRequest } from 'fastify';
import { stateKeyFor } from '../../engine/keys.js';
import type { CompiledRule } from '../../policy/compiled.js';
import { closest } from '../../policy/suggest.js';
import { formatDuration, parseDuration, parseLimit, UnitError } from '../../policy/units.js';
import type { StoredOverride } from '../../stores/store.js';
import type { AdminAuth, Principal } from '../auth.js';
import type { ServerContext } from '../context.js';
import { inspect } from '../inspect.js';
import type { PolicyReloader } from '../reload.js';
import { HttpError } from '../respond.js';
import { attributePattern, attributesPutSchema, overrideDeleteSchema, overridePutSchema } from '../schemas.js';
import { BodyError, bodyReader, readInspect, readReset } from '../validate.js';

const readOverridePut = bodyReader(overridePutSchema, { allErrors: true });
const readOverrideDelete = bodyReader(overrideDeleteSchema, { allErrors: true });
const readAttributesPut = bodyReader(attributesPutSchema, { allErrors: true });

/** What the admin routes use of a front door: the service's context, or the gateway's engine and log. */
export type AdminContext = Pick<ServerContext, 'sluice' | 'log'>;

/**
 * The admin API under /v1/admin: bearer tokens (admin: read and write; read: read only),
 * run-time overrides and entity attributes persisted in the store (so every instance on
 * the same store sees them), usage reset and inspection, and policy reload. Every change
 * is logged at info with who made it and what it was.
 */
export function registerAdminRoutes(app: FastifyInstance, ctx: AdminContext, auth: AdminAuth, reloader: PolicyReloader): void {
  const { log } = ctx;
  const who = (req: FastifyRequest, write: boolean): Principal => auth.authorize(req.headers.authorization, write);
  // The token is checked in onRequest, before the body is read or parsed: an unauthenticated
  // 850 KB body cost 45–60 ms of JSON parsing before its 401. The handlers ask again for the principal (a digest, cheap).
  const guard = (write: boolean) => ({
    onRequest: (req: FastifyRequest, _reply: unknown, done: (e?: Error) => void) => {
      try {
        who(req, write);
        done();
      } catch (e) {
        done(e as Error);
      }
    },
  });
  const sluice = ctx.sluice;

  app.get('/v1/admin/overrides', guard(false), async (req) => {
    who(req, false);
    const now = sluice.now();
    const stored = (await sluice.store.listOverrides(now)).filter((o) => o.expiresAt === undefined || o.expiresAt > now);
    return {
      overrides: stored.map((o) => overrideView(o, 'store')),
      policy: sluice.policy.overrides.map((o) => ({
        rule: o.rule,
        key: o.key,
        limit: `${o.limit}/${formatDuration(o.windowMs)}`,
        limitCount: o.limit,
        windowMs: o.windowMs,
        ...(o.expiresAt !== undefined ? { expires: new Date(o.expiresAt).toISOString() } : {}),
        ...(o.reason ? { reason: o.reason } : {}),
        source: 'policy',
      })),
    };
  });

  app.put('/v1/admin/overrides', guard(true), async (req) => {
    const p = who(req, true);
    const body = readOverridePut(req.body);
    const rule = ruleOf(ctx, body.rule, 'rule');
    const keyValues = keyOf(rule, body.key);
    let limit: { limit: number; windowMs: number };
    try {
      limit = parseLimit(body.limit);
    } catch (e) {
      throw unprocessable('limit', (e as Error).message);
    }
    if (rule.cost.kind !== 'bytes' && !Number.isInteger(limit.limit)) throw unprocessable('limit', 'a request limit must be a whole number');
    if (body.expires !== undefined && body.ttl !== undefined) throw unprocessable('ttl', 'give either expires or ttl, not both');
    const now = sluice.now();
    const expiresAt = expiry(body.expires ?? body.ttl, body.ttl !== undefined ? 'ttl' : 'expires', now);
    const o: StoredOverride = {
      key: stateKeyFor(rule, keyValues),
      rule: rule.name,
      keyValues,
      limit: limit.limit,
      windowMs: limit.windowMs,
      ...(expiresAt !== undefined ? { expiresAt } : {}),
      ...(body.reason !== undefined ? { reason: body.reason } : {}),
      by: p.name,
    };
    await sluice.store.setOverride(o);
    log.info({ who: p.name, action: 'override.set', rule: o.rule, key: keyValues, limit: body.limit, expiresAt: o.expiresAt, reason: o.reason }, 'override set');
    return { override: overrideView(o, 'store') };
  });

  app.delete('/v1/admin/overrides', guard(true), async (req, reply) => {
    const p = who(req, true);
    const body = readOverrideDelete(req.body);
    const rule = ruleOf(ctx, body.rule, 'rule');
    const keyValues = keyOf(rule, body.key);
    const key = stateKeyFor(rule, keyValues);
    const deleted = await sluice.store.deleteOverride(key);
    if (!deleted) {
      reply.code(404);
      return { error: { code: 'not_found', message: `no run-time override for rule "${rule.name}" and key ${JSON.stringify(keyValues)}` } };
    }
    log.info({ who: p.name, action: 'override.delete', rule: rule.name, key: keyValues }, 'override deleted');
    return { deleted: true, rule: rule.name, key: keyValues };
  });

  app.get<{ Params: { attr: string; value: string } }>('/v1/admin/attributes/:attr/:value', guard(false), async (req) => {
    who(req, false);
    const entity = entityOf(req.params);
    const stored = await sluice.store.getAttributes(entity);
    const fromPolicy = sluice.policy.attributes.get(entity) ?? {};
    return { entity, attributes: stored, policy: fromPolicy, effective: { ...fromPolicy, ...stored } };
  });

  app.put<{ Params: { attr: string; value: string } }>('/v1/admin/attributes/:attr/:value', guard(true), async (req) => {
    const p = who(req, true);
    const entity = entityOf(req.params);
    const attrs = readAttributesPut(req.body);
    if (Object.keys(attrs).length === 0) throw unprocessable('', 'name at least one attribute, e.g. { "licensed_agents": 40 } (null clears one)');
    for (const [k, v] of Object.entries(attrs)) {
      if (v !== null && !(v >= 0)) throw unprocessable(k, `an attribute scales limits, so it must not be negative (got ${v})`);
    }
    await sluice.store.setAttributes(entity, attrs);
    log.info({ who: p.name, action: 'attributes.set', entity, attributes: attrs }, 'attributes set');
    const stored = await sluice.store.getAttributes(entity);
    const fromPolicy = sluice.policy.attributes.get(entity) ?? {};
    return { entity, attributes: stored, policy: fromPolicy, effective: { ...fromPolicy, ...stored } };
  });

  app.post('/v1/admin/reset', guard(true), async (req) => {
    const p = who(req, true);
    const { subject, rules } = readReset(req.body);
    let only: Set<string> | undefined;
    if (rules !== undefined) {
      for (const [i, r] of rules.entries()) ruleOf(ctx, r, `rules[${i}]`);
      only = new Set(rules);
    }
    const keys = sluice.keysFor(subject).filter((k) => !only || only.has(k.rule));
    if (keys.length === 0) throw unprocessable('subject', 'the subject matches no rule (of those named); there is nothing to reset');
    const all = keys.flatMap((k) => (k.blockKey ? [k.key, k.blockKey] : [k.key]));
    const n = await sluice.store.reset(all);
    log.info({ who: p.name, action: 'reset', subject, rules: keys.map((k) => k.rule), keys: all, held: n }, 'usage reset');
    return { reset: keys.map((k) => ({ rule: k.rule, key: k.key, ...(k.blockKey ? { blockKey: k.blockKey } : {}) })), keysWithState: n };
  });

  app.post('/v1/admin/inspect', guard(false), async (req) => {
    who(req, false);
    const { subject } = readInspect(req.body);
    return { subject, now: new Date(sluice.now()).toISOString(), rules: await inspect(sluice, subject), skipped: sluice.skipped(subject) };
  });

  app.post('/v1/admin/reload', guard(true), async (req, reply) => {
    const p = who(req, true);
    const r = reloader.reload('api', p.name);
    if (r.ok) return { reloaded: true, source: r.source, rules: r.rules };
    const noFile = !reloader.file && !reloader.hasEnvoy;
    reply.code(noFile ? 409 : 422);
    return { error: { code: noFile ? 'no_policy_file' : 'invalid_policy', message: noFile ? r.issues[0].message : `the policy file is invalid; the previous policy keeps serving:\n${r.message}`, path: r.issues[0]?.path ?? '', issues: r.issues } };
  });

  app.get('/v1/admin/policy', guard(false), async (req) => {
    who(req, false);
    const pol = sluice.policy;
    return {
      source: pol.source,
      rules: pol.rules.map((r) => ({
        name: r.name,
        ...(r.description ? { description: r.description } : {}),
        key: r.keyAttrs,
        algorithm: r.algorithm,
        limit: r.params.limit,
        windowMs: r.params.windowMs,
        window: formatDuration(r.params.windowMs),
        phase: r.phase,
        action: r.action,
        status: r.response.status,
        code: r.response.code,
        ...(r.blockMs ? { blockMs: r.blockMs } : {}),
        ...(r.shadow ? { shadow: true } : {}),
        ...(r.scale ? { scale: r.scale } : {}),
        onStoreError: r.onStoreError,
      })),
      groups: Object.fromEntries([...pol.groups].map(([k, v]) => [k, [...v]])),
    };
  });
}

function unprocessable(path: string, message: string): BodyError {
  return new BodyError(422, [{ path, message }]);
}

function ruleOf(ctx: AdminContext, name: string, path: string): CompiledRule {
  const rule = ctx.sluice.policy.ruleByName.get(name);
  if (rule) return rule;
  const hint = closest(name, ctx.sluice.policy.ruleByName.keys());
  throw unprocessable(path, `unknown rule "${name}"${hint ? ` (did you mean "${hint}"?)` : ''}`);
}

/** The key must name exactly the rule's key attributes. */
function keyOf(rule: CompiledRule, key: Record<string, string | number | boolean>): Record<string, string> {
  const given = Object.keys(key).sort();
  const wanted = [...rule.keyAttrs].sort();
  if (given.join('\u0000') !== wanted.join('\u0000')) {
    throw unprocessable('key', `rule "${rule.name}" is keyed by [${rule.keyAttrs.join(', ')}], so the key must name exactly those attributes (got [${Object.keys(key).join(', ')}])`);
  }
  const out: Record<string, string> = {};
  for (const a of rule.keyAttrs) out[a] = String(key[a]);
  return out;
}

function expiry(text: string | undefined, path: string, now: number): number | undefined {
  if (text === undefined) return undefined;
  let at: number;
  if (/^\d{4}-\d\d-\d\d/.test(text)) {
    at = Date.parse(text);
    if (Number.isNaN(at)) throw unprocessable(path, `"${text}" is not a date (use ISO 8601, e.g. 2027-01-31T00:00:00Z)`);
  } else {
    try {
      at = now + parseDuration(text);
    } catch (e) {
      if (e instanceof UnitError) throw unprocessable(path, `"${text}" is neither an ISO 8601 date nor a duration such as 1h or 30d`);
      throw e;
    }
  }
  if (at <= now) throw unprocessable(path, `the override would already have expired (${new Date(at).toISOString()})`);
  return at;
}

function entityOf(params: { attr: string; value: string }): string {
  if (!attributePattern.test(params.attr)) throw new BodyError(400, [{ path: 'attr', message: `"${params.attr}" is not an attribute name (letters, digits, _ . -)` }]);
  if (params.value.length === 0 || params.value.length > 1024) throw new BodyError(400, [{ path: 'value', message: 'a value is 1 to 1024 characters' }]);
  return `${params.attr}:${params.value}`;
}

function overrideView(o: StoredOverride, source: 'store' | 'policy') {
  return {
    rule: o.rule,
    key: o.keyValues,
    stateKey: o.key,
    limit: `${o.limit}/${formatDuration(o.windowMs)}`,
    limitCount: o.limit,
    windowMs: o.windowMs,
    ...(o.expiresAt !== undefined ? { expires: new Date(o.expiresAt).toISOString() } : {}),
    ...(o.reason !== undefined ? { reason: o.reason } : {}),
    ...(o.by !== undefined ? { by: o.by } : {}),
    source,
  };
}

export { HttpError };
