/**
 * The CSV row counter against the readers an app parses uploads with (csv-parse, papaparse):
 *  - a well-formed file (RFC 4180 under `,` `;` or tab, multi-line quoted cells, `""`, CRLF or LF,
 *    a byte order mark) is counted exactly as csv-parse reads it: never over-counted;
 *  - any body whose header line uses one separator is never counted below what csv-parse (with
 *    relax_quotes: quotes open only at a field's start) or papaparse reads with that separator;
 *  - the count does not depend on how the body is cut into chunks, and while it streams it only
 *    grows and never passes the final count (a cap crossed mid-body is refused then, rightly).
 * Before, the counter split fields on all three separators at once: `x;"` in a comma file opened a
 * quoted field that hid every row after it, while both readers saw them.
 */
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import Papa from 'papaparse';
import { describe, expect, it } from 'vitest';
import { CsvRowCounter } from '../../src/http/caps/csv-row-counter.js';

const SEPS = [',', ';', '\t'] as const;

function counted(body: string, cuts: number[] = []): { rows: number; streamed: number[] } {
  const bytes = Buffer.from(body);
  const c = new CsvRowCounter();
  const streamed: number[] = [];
  let at = 0;
  for (const cut of [...cuts.map((x) => x % (bytes.length + 1)).sort((a, b) => a - b), bytes.length]) {
    c.push(bytes, at, Math.max(at, cut));
    at = Math.max(at, cut);
    streamed.push(c.dataRows);
  }
  c.end();
  return { rows: c.dataRows, streamed };
}

/** Data rows as csv-parse reads them; undefined where it refuses the body (the app would too). */
function csvParseRows(body: string, delimiter: string, relax: boolean): number | undefined {
  try {
    const records = parse(body, { delimiter, relax_quotes: relax, relax_column_count: true, skip_empty_lines: true, bom: true }) as string[][];
    return dataRows(records);
  } catch {
    return undefined;
  }
}

function papaRows(body: string, delimiter: string): number {
  return dataRows(Papa.parse<string[]>(body, { delimiter, skipEmptyLines: true }).data);
}

function dataRows(records: unknown[]): number {
  return Math.max(0, records.length - 1);
}

const text = (chars: string[], max = 6) => fc.array(fc.constantFrom(...chars), { maxLength: max }).map((a) => a.join(''));

/** A well-formed file: fields plain (no separator, quote or line end in them) or quoted (anything, `""` for a quote). */
const wellFormed = fc
  .record({
    sep: fc.constantFrom(...SEPS),
    eol: fc.constantFrom('\n', '\r\n'),
    bom: fc.boolean(),
    trailingEol: fc.boolean(),
    // as many fields on every line (RFC 4180 2.4): the separator is read off the header line
    records: fc.integer({ min: 1, max: 4 }).chain((n) => fc.array(fc.array(fc.boolean(), { minLength: n, maxLength: n }), { minLength: 1, maxLength: 8 })),
    seed: fc.array(fc.tuple(text(['a', 'b', ' ', ',', ';', '\t']), text(['a', ',', ';', '\t', ' ', '\n', '\r\n', '""', '"'])), { minLength: 32, maxLength: 32 }),
  })
  .map(({ sep, eol, bom, trailingEol, records, seed }) => {
    let k = 0;
    const field = (quoted: boolean) => {
      const [plain, inner] = seed[k++ % seed.length];
      return quoted ? `"${inner.replace(/"/g, '""')}"` : plain.split(sep).join('');
    };
    const lines = records.map((r) => r.map(field).join(sep));
    const body = lines.join(eol) + (trailingEol ? eol : '');
    // RFC 4180's records, but for blank lines (a record of one empty unquoted field), which no reader makes a row of
    return { sep, body: (bom ? '\uFEFF' : '') + body, rows: Math.max(0, lines.filter((l) => l !== '').length - 1) };
  });

/** Anything at all after a header that uses one separator. */
const anyBody = fc
  .record({
    sep: fc.constantFrom(...SEPS),
    header: fc.array(fc.constantFrom('name', 'phone', 'email', 'x', '"quoted"'), { minLength: 2, maxLength: 3 }),
    eol: fc.constantFrom('\n', '\r\n', '\r'),
    tokens: fc.array(fc.constantFrom('a', 'bc', ',', ';', '\t', '"', '""', ' ', '\n', '\r', '\r\n'), { maxLength: 60 }),
  })
  .map(({ sep, header, eol, tokens }) => ({ sep, body: `${header.join(sep)}${eol}${tokens.join('')}` }));

describe('the CSV row counter against csv-parse and papaparse', () => {
  it('counts a well-formed file\'s records exactly (multi-line quoted cells are one row)', () => {
    fc.assert(
      fc.property(wellFormed, fc.array(fc.nat(), { maxLength: 4 }), ({ sep, body, rows }, cuts) => {
        // well-formed indeed: csv-parse, strict (no relax_quotes), reads it
        expect(() => parse(body, { delimiter: sep, relax_column_count: true, bom: true })).not.toThrow();
        expect(counted(body, cuts).rows).toBe(rows);
      }),
      { numRuns: 2000 },
    );
  });

  it('never counts fewer rows than csv-parse (relax_quotes) or papaparse read with the header\'s separator', () => {
    fc.assert(
      fc.property(anyBody, ({ sep, body }) => {
        const { rows } = counted(body);
        const lenient = csvParseRows(body, sep, true);
        if (lenient !== undefined) expect(rows).toBeGreaterThanOrEqual(lenient);
        expect(rows).toBeGreaterThanOrEqual(papaRows(body, sep));
      }),
      { numRuns: 5000 },
    );
  });

  it('gives one count however the body is cut into chunks; while streaming it only grows, up to the final count', () => {
    fc.assert(
      fc.property(fc.oneof(anyBody, wellFormed), fc.array(fc.nat(), { maxLength: 6 }), ({ body }, cuts) => {
        const whole = counted(body).rows;
        const { rows, streamed } = counted(body, cuts);
        expect(rows).toBe(whole);
        for (let i = 1; i < streamed.length; i++) expect(streamed[i]).toBeGreaterThanOrEqual(streamed[i - 1]);
        for (const s of streamed) expect(s).toBeLessThanOrEqual(rows);
      }),
      { numRuns: 2000 },
    );
  });

  it('the cases that were bypasses, and the legitimate files a coarser fix would over-count', () => {
    const rows = (body: string) => counted(body).rows;
    // a quote opened under ";" in a comma file, never closed: every row after it counts
    expect(rows('a,b\nx;"\n1,2\n3,4\n')).toBe(3);
    // ... and closed much later: the comma readers see the rows in between, so does the count
    expect(rows('a,b\nx;"\n1,2\n3,4\ny;"\n')).toBe(4);
    // a quote after a space is text to csv-parse and papaparse
    expect(rows('a,b\nx, "\n1,2\n3,4\ny, "\n')).toBe(4);
    // papaparse reads `"a"x` on, to a quote before a separator: the rows csv-parse hides there count
    expect(rows('a,b\n"a"x,"\n1\n2\n3\n",\n')).toBe(papaRows('a,b\n"a"x,"\n1\n2\n3\n",\n', ','));
    // well-formed: multi-line cells holding the other separators are one row each
    expect(rows('name,notes\n1,"x;y\nz"\n2,"a\tb\nc"\n')).toBe(2);
    expect(rows('name;notes\n1;"1,5\nkg"\n')).toBe(1);
    expect(rows('name\tnotes\r\n1\t"a;b,\r\nc"\r\n')).toBe(1);
    // a header naming a column with a comma in a semicolon file, still well-formed under ";"
    expect(rows('Preis, EUR;Menge\n1;"a\nb"\n')).toBe(1);
    // whitespace-only lines are rows to both readers
    expect(rows('a\n \n\t\n')).toBe(papaRows('a\n \n\t\n', ','));
    // Excel's "CSV UTF-8" byte order mark before a quoted header
    expect(rows('\uFEFF"name","notes"\n1,"a\nb"\n')).toBe(1);
  });
});
