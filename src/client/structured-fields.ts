/**
 * Minimal parser for RFC 8941 / RFC 9651 Structured Field Lists and Dictionaries,
 * just enough for the rate-limit header drafts. On any syntax error the whole field
 * is rejected (returns undefined), as RFC 8941 requires, so a malformed header never
 * produces half-parsed limits.
 */

/** A token (unquoted identifier), kept distinct from strings so callers can tell them apart if needed. */
export class SfToken {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export type SfBareItem = number | string | boolean | SfToken | Uint8Array | Date;
export type SfParams = Map<string, SfBareItem>;

export interface SfItem {
  value: SfBareItem | SfItem[];
  params: SfParams;
}

class SyntaxFailure extends Error {}

const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z:/]/;
const KEY_START = /[a-z*]/;
const KEY_CHAR = /[a-z0-9_\-.*]/;

class Parser {
  private i = 0;
  constructor(private readonly s: string) {}

  get done(): boolean {
    return this.i >= this.s.length;
  }

  private peek(): string {
    return this.s[this.i] ?? '';
  }

  private fail(): never {
    throw new SyntaxFailure();
  }

  /** Consumes `c` if it is next; reports whether it did. */
  eat(c: string): boolean {
    if (this.peek() !== c) return false;
    this.i++;
    return true;
  }

  skipSP(): void {
    while (this.peek() === ' ') this.i++;
  }

  skipOWS(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.i++;
  }

  /** Consumes the ", " between members; returns false at end of input. */
  memberSeparator(): boolean {
    this.skipOWS();
    if (this.done) return false;
    if (this.peek() !== ',') this.fail();
    this.i++;
    this.skipOWS();
    if (this.done) this.fail(); // trailing comma
    return true;
  }

  listMember(): SfItem {
    return this.peek() === '(' ? this.innerList() : this.item();
  }

  item(): SfItem {
    const value = this.bareItem();
    return { value, params: this.params() };
  }

  innerList(): SfItem {
    this.i++; // '('
    const items: SfItem[] = [];
    for (;;) {
      this.skipSP();
      if (this.peek() === ')') {
        this.i++;
        return { value: items, params: this.params() };
      }
      items.push(this.item());
      const c = this.peek();
      if (c !== ' ' && c !== ')') this.fail();
    }
  }

  params(): SfParams {
    const params: SfParams = new Map();
    while (this.peek() === ';') {
      this.i++;
      this.skipSP();
      const key = this.key();
      let value: SfBareItem = true;
      if (this.peek() === '=') {
        this.i++;
        value = this.bareItem();
      }
      params.set(key, value);
    }
    return params;
  }

  key(): string {
    // Lenient on case: some servers send "Q=" / "W="; keys are otherwise lowercase-only.
    const first = this.peek().toLowerCase();
    if (!KEY_START.test(first)) this.fail();
    let out = '';
    while (!this.done && KEY_CHAR.test(this.peek().toLowerCase())) {
      out += this.peek().toLowerCase();
      this.i++;
    }
    return out;
  }

  bareItem(): SfBareItem {
    const c = this.peek();
    if (c === '-' || (c >= '0' && c <= '9')) return this.number();
    if (c === '"') return this.string();
    if (c === '%' && this.s[this.i + 1] === '"') {
      this.i++;
      return decodeDisplayString(this.string());
    }
    if (c === ':') return this.bytes();
    if (c === '?') return this.boolean();
    if (c === '@') {
      this.i++;
      const n = this.number();
      if (!Number.isInteger(n)) this.fail();
      return new Date(n * 1000);
    }
    if (/[A-Za-z*]/.test(c)) return this.token();
    return this.fail();
  }

  number(): number {
    const m = /^-?\d+(\.\d+)?/.exec(this.s.slice(this.i));
    if (!m) this.fail();
    this.i += m[0].length;
    return Number(m[0]);
  }

  string(): string {
    this.i++; // opening quote
    let out = '';
    while (!this.done) {
      const c = this.s[this.i++];
      if (c === '\\') {
        const next = this.s[this.i++];
        if (next !== '"' && next !== '\\') this.fail();
        out += next;
      } else if (c === '"') {
        return out;
      } else {
        out += c;
      }
    }
    return this.fail(); // unterminated
  }

  token(): SfToken {
    let out = '';
    while (!this.done && TCHAR.test(this.peek())) out += this.s[this.i++];
    return new SfToken(out);
  }

  bytes(): Uint8Array {
    const end = this.s.indexOf(':', this.i + 1);
    if (end < 0) this.fail();
    const b64 = this.s.slice(this.i + 1, end);
    if (!/^[A-Za-z0-9+/=]*$/.test(b64)) this.fail();
    this.i = end + 1;
    return new Uint8Array(Buffer.from(b64, 'base64'));
  }

  boolean(): boolean {
    const v = this.s[this.i + 1];
    if (v !== '0' && v !== '1') this.fail();
    this.i += 2;
    return v === '1';
  }
}

function decodeDisplayString(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Parses a Structured Field List. Returns undefined when the field is absent or malformed. */
export function parseList(input: string | null | undefined): SfItem[] | undefined {
  if (input == null) return undefined;
  const p = new Parser(input.trim());
  const out: SfItem[] = [];
  try {
    if (p.done) return out;
    do {
      out.push(p.listMember());
    } while (p.memberSeparator());
    return out;
  } catch (err) {
    if (err instanceof SyntaxFailure) return undefined;
    throw err;
  }
}

/** Parses a Structured Field Dictionary. Returns undefined when the field is absent or malformed. */
export function parseDictionary(input: string | null | undefined): Map<string, SfItem> | undefined {
  if (input == null) return undefined;
  const p = new Parser(input.trim());
  const out = new Map<string, SfItem>();
  try {
    if (p.done) return out;
    do {
      const key = p.key();
      // A bare key means boolean true; otherwise "key=item".
      if (p.eat('=')) {
        out.set(key, p.listMember());
      } else {
        out.set(key, { value: true, params: p.params() });
      }
    } while (p.memberSeparator());
    return out;
  } catch (err) {
    if (err instanceof SyntaxFailure) return undefined;
    throw err;
  }
}

/** The value of an item as a display name (string or token); undefined for other types. */
export function sfName(value: SfItem['value']): string | undefined {
  if (typeof value === 'string') return value;
  if (value instanceof SfToken) return value.value;
  return undefined;
}

/** A numeric parameter, or undefined if absent or not a number. */
export function sfNumber(params: SfParams, key: string): number | undefined {
  const v = params.get(key);
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
