import type { Decision } from '../engine/decision.js';
import { isAscii, type JsonText } from '../http/json-text.js';

/**
 * JSON.stringify(decision), written out by hand for the hot path: Decision.toJSON builds
 * an intermediate object per response, and JSON.stringify then walks it. This produces
 * the identical text (same keys, order, omissions and nulls) — test/server/decision-json
 * checks it against JSON.stringify over many decisions, so the two cannot drift silently.
 */
export function decisionJson(d: Decision): string {
  return decisionBody(d).text;
}

/**
 * The decision's JSON and whether it is all ASCII. It almost always is (rule names are
 * ASCII by the policy schema; only a rule's own message or a subject's attribute names can
 * bring in other characters), and then its length is its byte length and it can be written
 * as latin1: no UTF-8 length scan and no UTF-8 encoding per response (see respond.ts).
 */
export function decisionBody(d: Decision): JsonText {
  ascii = true;
  const text = render(d);
  return { text, ascii };
}

/**
 * JSON.stringify(denialBody(d)) — `{"error":{"code","message","rule","retryAfterMs"}}` — for a
 * refused decision, rendered the same way: a flood of refusals is a hot path too.
 */
export function denialJson(d: Decision): JsonText {
  ascii = true;
  let text = `{"error":{"code":${str(d.code ?? 'rate_limited')},"message":${str(d.message ?? 'Rate limit exceeded.')}`;
  const rule = d.rule;
  if (rule !== undefined) text += `,"rule":${str(rule)}`;
  text += `,"retryAfterMs":${num(d.retryAfterMs)}}}`;
  return { text, ascii };
}

/** Whether every string quoted since decisionBody began was ASCII (numbers, booleans and the fixed text are). */
let ascii = true;

function render(d: Decision): string {
  // The head of an admitted decision depends on its binding rule alone: one lookup instead
  // of six getters and as many concatenations.
  let out = d.allowed ? admittedHead(d.rule) : refusedHead(d);
  out += `,"limit":${num(d.limit)},"remaining":${num(d.remaining)},"resetMs":${num(d.resetMs)},"retryAfterMs":${num(d.retryAfterMs)},"rules":[`;
  const rules = d.rules;
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i];
    if (i > 0) out += ',';
    out += `${ruleHead(r.name, r.allowed, r.shadow, r.blocked)}${num(r.limit)},"windowMs":${num(r.windowMs)},"remaining":${num(r.remaining)},"resetMs":${num(r.resetMs)},"retryAfterMs":${num(r.retryAfterMs)}`;
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
  if (skipped) {
    // rare (a check that skipped a rule or matched none); it names the subject's attributes
    const s = JSON.stringify(skipped);
    if (ascii && !isAscii(s)) ascii = false;
    out += `,"skipped":${s}`;
  }
  return out + '}';
}

/** `{"allowed":true,"action":"allow","rule":…,"status":200` (no message or code when admitted). */
function admittedHead(rule: string | undefined): string {
  if (rule === undefined) return '{"allowed":true,"action":"allow","status":200';
  const q = quote(rule);
  return (q.admittedHead ??= `{"allowed":true,"action":"allow","rule":${q.json},"status":200`);
}

function refusedHead(d: Decision): string {
  let out = `{"allowed":false,"action":${str(d.action)}`;
  if (d.rule !== undefined) out += `,"rule":${str(d.rule)}`;
  out += `,"status":${num(d.status)}`;
  if (d.message !== undefined) out += `,"message":${str(d.message)}`;
  if (d.code !== undefined) out += `,"code":${str(d.code)}`;
  return out;
}

/** `{"name":…,"allowed":…,"shadow":…,"blocked":…,"limit":` of one rule's result: 8 variants per name. */
function ruleHead(name: string, allowed: boolean, shadow: boolean, blocked: boolean): string {
  const q = quote(name);
  const variants = (q.ruleHeads ??= new Array<string | undefined>(8));
  const i = (allowed ? 4 : 0) | (shadow ? 2 : 0) | (blocked ? 1 : 0);
  return (variants[i] ??= `{"name":${q.json},"allowed":${allowed},"shadow":${shadow},"blocked":${blocked},"limit":`);
}

function num(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}

/** A string of the policy's, quoted, with the fragments built around it when it is a rule name. */
interface Quoted {
  readonly json: string;
  readonly ascii: boolean;
  admittedHead?: string;
  ruleHeads?: (string | undefined)[];
}

/** A JSON string literal. */
function str(s: string): string {
  return quote(s).json;
}

/**
 * The strings quoted here are the policy's own (rule names, codes, messages, actions): a few
 * hundred at most, so each is quoted once and then looked up.
 */
function quote(s: string): Quoted {
  let q = quoted.get(s);
  if (q === undefined) {
    if (quoted.size >= 4096) quoted.clear(); // bound it across many policy reloads
    const json = JSON.stringify(s);
    quoted.set(s, (q = { json, ascii: isAscii(json) }));
  }
  if (!q.ascii) ascii = false;
  return q;
}

const quoted = new Map<string, Quoted>();
