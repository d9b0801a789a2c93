import { DisplayString, parseDictionary as sfDictionary, parseList as sfList, Token, type BareItem, type InnerList, type Item, type Parameters } from 'structured-headers';

/**
 * RFC 8941 / RFC 9651 Structured Field Lists and Dictionaries, parsed by `structured-headers`
 * and seen the way the rate-limit header readers (./headers.ts) want them: an item is
 * `{ value, params }`, an inner list's value is its items, a display string is its text. On
 * any syntax error the whole field is rejected (undefined), as RFC 8941 requires, so a
 * malformed header never yields half-parsed limits.
 */

export { Token as SfToken };

export type SfBareItem = number | string | boolean | Token | ArrayBuffer | Date;
export type SfParams = Map<string, SfBareItem>;

export interface SfItem {
  value: SfBareItem | SfItem[];
  params: SfParams;
}

/** Parses a Structured Field List. Returns undefined when the field is absent or malformed. */
export function parseList(input: string | null | undefined): SfItem[] | undefined {
  if (input == null) return undefined;
  try {
    return sfList(input).map(member);
  } catch {
    return undefined;
  }
}

/** Parses a Structured Field Dictionary. Returns undefined when the field is absent or malformed. */
export function parseDictionary(input: string | null | undefined): Map<string, SfItem> | undefined {
  if (input == null) return undefined;
  try {
    return new Map([...sfDictionary(input)].map(([k, v]) => [k, member(v)]));
  } catch {
    return undefined;
  }
}

/** The value of an item as a display name (string or token); undefined for other types. */
export function sfName(value: SfItem['value']): string | undefined {
  if (typeof value === 'string') return value;
  if (value instanceof Token) return value.toString();
  return undefined;
}

/** A numeric parameter, or undefined if absent or not a number. */
export function sfNumber(params: SfParams, key: string): number | undefined {
  const v = params.get(key);
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function member(m: Item | InnerList): SfItem {
  const [value, params] = m;
  return { value: Array.isArray(value) ? value.map(member) : bare(value), params: paramsOf(params) };
}

function paramsOf(p: Parameters): SfParams {
  return new Map([...p].map(([k, v]) => [k, bare(v)]));
}

function bare(v: BareItem): SfBareItem {
  if (v instanceof DisplayString) return v.toString();
  if (ArrayBuffer.isView(v)) return v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength) as ArrayBuffer;
  return v as SfBareItem;
}
