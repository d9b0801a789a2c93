import type { Decision } from '../engine/decision.js';

/**
 * JSON.stringify(decision), written out by hand for the hot path: Decision.toJSON builds
 * an intermediate object per response, and JSON.stringify then walks it. This produces
 * the identical text (same keys, order, omissions and nulls) — test/server/decision-json
 * checks it against JSON.stringify over many decisions, so the two cannot drift silently.
 */
export function decisionJson(d: Decision): string {
  let out = `{"allowed":${d.allowed},"action":${str(d.action)}`;
  if (d.rule !== undefined) out += `,"rule":${str(d.rule)}`;
  out += `,"status":${num(d.status)}`;
  if (d.message !== undefined) out += `,"message":${str(d.message)}`;
  if (d.code !== undefined) out += `,"code":${str(d.code)}`;
  out += `,"limit":${num(d.limit)},"remaining":${num(d.remaining)},"resetMs":${num(d.resetMs)},"retryAfterMs":${num(d.retryAfterMs)},"rules":[`;
  const rules = d.rules;
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i];
    if (i > 0) out += ',';
    out += `{"name":${str(r.name)},"allowed":${r.allowed},"shadow":${r.shadow},"blocked":${r.blocked},"limit":${num(r.limit)},"windowMs":${num(r.windowMs)},"remaining":${num(r.remaining)},"resetMs":${num(r.resetMs)},"retryAfterMs":${num(r.retryAfterMs)}`;
    if (r.fallback !== undefined) out += `,"fallback":${r.fallback}`;
    out += '}';
  }
  out += ']';
  const shadowDenied = d.shadowDenied;
  if (shadowDenied.length) {
    out += ',"shadowDenied":[';
    for (let i = 0; i < shadowDenied.length; i++) out += (i > 0 ? ',' : '') + str(shadowDenied[i]);
    out += ']';
  }
  const skipped = d.skipped;
  if (skipped) out += `,"skipped":${JSON.stringify(skipped)}`; // rare (a check that skipped a rule or matched none)
  return out + '}';
}

function num(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}

/**
 * A JSON string literal. The strings here are the policy's own (rule names, codes,
 * messages, actions): a few hundred at most, so each is quoted once and then looked up.
 */
function str(s: string): string {
  let q = quoted.get(s);
  if (q === undefined) {
    if (quoted.size >= 4096) quoted.clear(); // bound it across many policy reloads
    quoted.set(s, (q = JSON.stringify(s)));
  }
  return q;
}

const quoted = new Map<string, string>();
