/**
 * Seed 002's contact upload (a header and at most 2,000 rows) through the Express middleware, the
 * app behind it reading the CSV with the libraries apps use (csv-parse with relax_quotes,
 * papaparse). Before, the row counter split fields on `,` `;` and tab at once: a line `x;"` in a
 * comma file opened a quoted field under the `;` reading that hid every row after it from the
 * count, while the app's comma reader imported them all. Taking the largest count over the three
 * readings would have refused well-formed files whose multi-line quoted cells hold another
 * separator; those still pass.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse } from 'csv-parse/sync';
import express from 'express';
import Papa from 'papaparse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sluice } from '../../src/middleware/express.js';
import { send, SEED_POLICY } from './support.js';

let server: Server;
let base: string;

/** Rows as the app reads them: the most either library finds (with the header's separator). */
function appRows(text: string): number {
  const delimiter = text.slice(0, text.search(/[\r\n]/)).includes(';') ? ';' : ',';
  const a = parse(text, { delimiter, relax_quotes: true, relax_column_count: true, skip_empty_lines: true }) as unknown[];
  const b = Papa.parse(text, { delimiter, skipEmptyLines: true }).data;
  return Math.max(a.length, b.length) - 1;
}

beforeAll(async () => {
  const app = express();
  app.use(sluice({ policy: SEED_POLICY, onMissingKey: 'skip' }));
  app.post('/pa/contacts/upload', express.raw({ type: () => true, limit: '50mb' }), (req, res) => {
    const body = req.body as Buffer;
    const text = (req.headers['content-type'] ?? '').startsWith('multipart/') ? /\r\n\r\n([\s\S]*)\r\n--b--/.exec(body.toString('utf8'))![1] : body.toString('utf8');
    res.json({ rows: appRows(text) });
  });
  server = createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((r) => server.close(r)));

const upload = (body: string, type = 'text/csv') => send(`${base}/pa/contacts/upload`, { method: 'POST', body, headers: { 'x-account-id': 'acme', 'content-type': type } });
const rows = (n: number, sep = ',') => Array.from({ length: n }, (_, i) => `c${i}${sep}+1555${i}`);

describe('a quote opened under another separator hides no rows', () => {
  it('`x;"` in a comma file, never closed: the 2,001 rows after it are refused', async () => {
    const body = ['name,phone', 'x;"', ...rows(2000)].join('\n') + '\n';
    expect(appRows(body)).toBe(2001);
    const r = await upload(body);
    expect(r.status, JSON.stringify(r.body)).toBe(422);
    expect(r.body.error).toMatchObject({ code: 'too_many_rows', cap: 'contacts-upload', limit: 2000 });
  });

  it('... closed again far below (`y;"`): the rows in between count too', async () => {
    const body = ['name,phone', 'x;"', ...rows(1999), 'y;"'].join('\n') + '\n';
    expect(appRows(body)).toBe(2001);
    expect((await upload(body)).status).toBe(422);
  });

  it('a quote after a space (` "`) is text to the readers, and to the count', async () => {
    const body = ['name,phone', 'x, "', ...rows(1999), 'y, "'].join('\n') + '\n';
    expect(appRows(body)).toBe(2001);
    expect((await upload(body)).status).toBe(422);
  });

  it('papaparse reads a quoted field on past `"a"x`: the rows it sees count', async () => {
    const body = ['name,phone', '"a"x,"', ...rows(1999), '",'].join('\n') + '\n';
    expect(appRows(body)).toBe(2001);
    expect((await upload(body)).status).toBe(422);
  });

  it('a line break of another kind before a quote (`\\r"` in an LF file) is a byte of the line to the readers', async () => {
    const body = 'name,phone\n\r"\n' + rows(1999).join('\n') + '\nx"\n';
    expect(appRows(body)).toBeGreaterThan(2000);
    expect((await upload(body)).status).toBe(422);
  });

  it('in a multipart upload too', async () => {
    const csv = ['name,phone', 'x;"', ...rows(2000)].join('\n') + '\n';
    const form = `--b\r\ncontent-disposition: form-data; name="f"; filename="contacts.csv"\r\ncontent-type: text/csv\r\n\r\n${csv}\r\n--b--\r\n`;
    const r = await upload(form, 'multipart/form-data; boundary=b');
    expect(r.status, JSON.stringify(r.body)).toBe(422);
  });
});

describe('well-formed files are not over-counted', () => {
  it('2,000 rows whose quoted cells span lines and hold `;` and tabs pass; 2,001 are refused', async () => {
    const file = (n: number) => 'name,notes\r\n' + Array.from({ length: n }, (_, i) => `c${i},"floor 2; desk\t${i}\r\nsecond line"`).join('\r\n') + '\r\n';
    expect(appRows(file(2000))).toBe(2000);
    const ok = await upload(file(2000));
    expect([ok.status, ok.body]).toEqual([200, { rows: 2000 }]);
    expect((await upload(file(2001))).status).toBe(422);
  });

  it('a semicolon file (decimal commas) with multi-line cells: 2,000 rows pass', async () => {
    const body = 'Name;Gewicht, kg;Notiz\n' + Array.from({ length: 2000 }, (_, i) => `c${i};1,5;"a, b\nc"`).join('\n') + '\n';
    expect(appRows(body)).toBe(2000);
    expect((await upload(body)).status).toBe(200);
  });

  it('Excel\'s "CSV UTF-8" (a byte order mark, every field quoted): 2,000 rows pass', async () => {
    const body = '\uFEFF"name","notes"\r\n' + Array.from({ length: 2000 }, (_, i) => `"c${i}","line 1\nline 2"`).join('\r\n') + '\r\n';
    expect((await upload(body)).status).toBe(200);
  });
});
