import type { CompiledRule, Subject } from '../policy/compiled.js';
import { escapeValue, KEY_EXTRA } from '../stores/key-codec.js';

/**
 * A rule's state key: "rule|value|value". The rule name cannot contain "|", and each
 * value is escaped (../stores/key-codec.ts: `%`, `|`, `{`, `}` and lone surrogates, by
 * hand, never throwing), so distinct subjects never share a key and any string is a value.
 */
export function stateKey(rule: CompiledRule, subject: Subject): string {
  return join(rule.name, rule.keyAttrs, subject);
}

/**
 * The key values as the in-process store names a state within its rule: a one-value
 * key's value as it is (with nothing to join there is nothing to escape, and the hot
 * path skips scanning it), otherwise the escaped values joined by "|" ("" for a rule
 * without a key). `escapedId` turns it into the key's own text.
 */
export function localId(rule: CompiledRule, subject: Subject): string {
  return idOf(rule.keyAttrs, subject);
}

/** The block key's values as the in-process store names them within "rule!b": blockKeyOf's part after the namespace, as localId. */
export function blockLocalId(rule: CompiledRule, subject: Subject): string {
  return idOf(rule.blockKeyAttrs, subject);
}

function idOf(attrs: readonly string[], subject: Subject): string {
  if (attrs.length === 1) return text(subject[attrs[0]]);
  if (attrs.length === 0) return '';
  let id = part(subject[attrs[0]]);
  for (let i = 1; i < attrs.length; i++) id += `|${part(subject[attrs[i]])}`;
  return id;
}

/** The part of the state key after the rule name, from a localId. */
export function escapedId(rule: CompiledRule, id: string): string {
  return rule.keyAttrs.length === 1 ? part(id) : id;
}

/** Where a rule's block penalty for this subject is kept: "rule!b|value…". */
export function blockKeyOf(rule: CompiledRule, subject: Subject): string {
  return join(`${rule.name}!b`, rule.blockKeyAttrs, subject);
}

function join(head: string, attrs: readonly string[], subject: Subject): string {
  // Stryker disable next-line ConditionalExpression: a fast path only: the loop below over no attributes leaves the key as head too
  if (attrs.length === 0) return head;
  // Stryker disable next-line ConditionalExpression: a fast path only: the loop below over one attribute builds the same key
  if (attrs.length === 1) return `${head}|${part(subject[attrs[0]])}`;
  let key = head;
  for (const a of attrs) key += `|${part(subject[a])}`;
  return key;
}

/** The key for explicit values, as the admin API and overrides name them. */
export function stateKeyFor(rule: CompiledRule, values: Readonly<Record<string, string>>): string {
  return stateKey(rule, values);
}

function text(v: unknown): string {
  return typeof v === 'string' ? v : String(v);
}

function part(v: unknown): string {
  return escapeValue(text(v), KEY_EXTRA);
}
