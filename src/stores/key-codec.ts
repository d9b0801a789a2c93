/**
 * Key values are data: any string a client can send is a valid key value, in every store.
 *
 * A value goes into a state key ("rule|value|value") escaped by hand, code unit by code
 * unit, so that nothing can throw (encodeURIComponent throws URIError on a lone UTF-16
 * surrogate: "a%\ud800" used to answer 500) and the result is lossless everywhere:
 *  - the separators and the escape itself, `%` `|` (and, for Redis Cluster hash tags and
 *    Envoy's key space, the caller's extra characters such as `{` `}` `=`), become %XX;
 *  - a lone surrogate becomes %uXXXX, so every key is well-formed UTF-16 and reaches
 *    SQLite and Redis (which store UTF-8) unchanged, instead of turning into U+FFFD and
 *    colliding with every other lone surrogate;
 *  - everything else (control characters, NUL, any well-formed Unicode) is kept as is.
 * A value without anything to escape is returned unchanged, without allocating.
 */

/** What state keys escape besides `%` and `|`: braces, so a value never ends a Redis Cluster hash tag early. */
export const KEY_EXTRA = '{}';

/** Escapes `%`, `|`, lone surrogates, and any character of `extra` (single ASCII punctuation characters: letters and digits are never escaped). */
export function escapeValue(s: string, extra = ''): string {
  let i = 0;
  const n = s.length;
  for (; i < n; i++) if (needsEscape(s, i, extra)) break;
  if (i === n) return s;
  let out = s.slice(0, i);
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && isLow(s.charCodeAt(i + 1))) {
      out += s[i] + s[i + 1]; // a well-formed pair
      i++;
    } else if (c >= 0xd800 && c <= 0xdfff) out += `%u${c.toString(16).toUpperCase().padStart(4, '0')}`;
    else if (c === 0x25 || c === 0x7c || (c < 0x80 && extra.indexOf(s[i]) >= 0)) out += `%${c.toString(16).toUpperCase().padStart(2, '0')}`;
    else out += s[i];
  }
  return out;
}

/**
 * The inverse of escapeValue, for any `extra`: %XX and %uXXXX back to their code unit.
 * A `%` not followed by a valid escape is taken literally (text Sluice did not escape).
 */
export function unescapeValue(s: string): string {
  if (s.indexOf('%') < 0) return s;
  let out = '';
  let i = 0;
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      if (s.charCodeAt(i + 1) === 0x75 /* u */ && isHex(s, i + 2, 4)) {
        out += String.fromCharCode(parseInt(s.slice(i + 2, i + 6), 16));
        i += 6;
        continue;
      }
      if (isHex(s, i + 1, 2)) {
        out += String.fromCharCode(parseInt(s.slice(i + 1, i + 3), 16));
        i += 3;
        continue;
      }
    }
    out += s[i];
    i++;
  }
  return out;
}

function needsEscape(s: string, i: number, extra: string): boolean {
  const c = s.charCodeAt(i);
  // Letters and digits (most of every key) are never escaped: no search of extra for them.
  if ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39)) return false;
  if (c === 0x25 || c === 0x7c) return true;
  if (c >= 0xd800 && c <= 0xdfff) {
    // A high surrogate followed by a low one is a well-formed pair; skip-checking the low one
    // here is safe because a low surrogate preceded by a high one is part of that pair.
    if (c <= 0xdbff) return !(i + 1 < s.length && isLow(s.charCodeAt(i + 1)));
    return !(i > 0 && isHigh(s.charCodeAt(i - 1)));
  }
  return c < 0x80 && extra.length > 0 && extra.indexOf(s[i]) >= 0;
}

function isHigh(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

function isLow(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

function isHex(s: string, from: number, len: number): boolean {
  if (from + len > s.length) return false;
  for (let i = from; i < from + len; i++) {
    const c = s.charCodeAt(i) | 0x20;
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}
