/**
 * Seed 002's payload caps through the Express middleware, mounted as the README says (before
 * the body parsers), counted in the page's units: numbers per API call, contacts per campaign,
 * rows of CSV and Excel sheets (a header plus N rows), and sheet and file sizes in MB. Then the
 * uploads a real app would parse just as well but a counter might not: CSV with old-Mac CR
 * line ends or a stray quote inside a field, a JSON key spelt with an escape, a gzip-encoded
 * body (which express.json() inflates), a workbook whose part names are not lower case, and
 * rows made of formulas.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import ExcelJS from 'exceljs';
import express from 'express';
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sluice } from '../../src/middleware/express.js';
import { send, SEED_POLICY } from './support.js';

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
let server: Server;
let base: string;

/** What the app behind the middleware parsed: the count a cap must bound. */
function csvRows(text: string): number {
  // a lenient reader, as spreadsheet importers are: CRLF, LF or CR end a line outside quotes; a quote opens only at a field's start
  let rows = 0, field = true, quoted = false, data = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') quoted = text[i + 1] === '"' ? (i++, true) : false;
      continue;
    }
    if (c === '"' && field) quoted = true;
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      if (data) rows++;
      data = false;
      field = true;
      continue;
    } else if (c === ',') field = true;
    else field = false;
    data = true;
  }
  return (data ? rows + 1 : rows) - 1;
}

beforeAll(async () => {
  const app = express();
  app.use(sluice({ policy: SEED_POLICY, onMissingKey: 'skip' }));
  app.post('/pa/push', express.json({ limit: '50mb' }), (req, res) => res.json({ numbers: req.body.numbers?.length ?? 0 }));
  app.post('/pa/campaigns', express.json({ limit: '50mb' }), (req, res) => res.json({ contacts: req.body.contacts?.length ?? 0 }));
  app.post('/pa/contacts/upload', express.raw({ type: () => true, limit: '50mb' }), async (req, res) => {
    const buf = req.body as Buffer;
    if (req.headers['content-type'] === XLSX) {
      const wb = new ExcelJS.Workbook();
      await wb.xlsx.load(buf as never);
      let rows = 0;
      wb.eachSheet((ws) => void (rows += Math.max(0, ws.actualRowCount - 1)));
      return res.json({ rows });
    }
    res.json({ rows: csvRows(buf.toString('utf8')) });
  });
  app.post('/pa/attributes/files', express.raw({ type: () => true, limit: '50mb' }), (req, res) => res.json({ bytes: (req.body as Buffer).length }));
  server = createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((r) => server.close(r)));

const post = (path: string, body: string | Buffer, headers: Record<string, string>) => send(base + path, { method: 'POST', body: body as BodyInit, headers: { 'x-account-id': 'acme', ...headers } });
const csv = (rows: number, eol = '\n') => ['name,phone', ...Array.from({ length: rows }, (_, i) => `c${i},+1555${i}`)].join(eol) + eol;

describe('caps counted in the page\'s units', () => {
  it('API: at most 10000 numbers in a single call', async () => {
    const ok = await post('/pa/push', JSON.stringify({ numbers: Array.from({ length: 10_000 }, (_, i) => `+1${i}`) }), { 'content-type': 'application/json' });
    expect([ok.status, ok.body]).toEqual([200, { numbers: 10_000 }]);
    const over = await post('/pa/push', JSON.stringify({ numbers: Array.from({ length: 10_001 }, (_, i) => `+1${i}`) }), { 'content-type': 'application/json' });
    expect(over.status).toBe(422);
    expect(over.body.error).toMatchObject({ code: 'too_many_items', cap: 'numbers-per-call', limit: 10_000, path: '$.numbers' });
  });

  it('manual contact upload: a header and 2000 rows pass, 2001 rows are 422 too_many_rows', async () => {
    const ok = await post('/pa/contacts/upload', csv(2000), { 'content-type': 'text/csv' });
    expect([ok.status, ok.body.rows]).toEqual([200, 2000]);
    const over = await post('/pa/contacts/upload', csv(2001), { 'content-type': 'text/csv' });
    expect(over.status).toBe(422);
    expect(over.body.error).toMatchObject({ code: 'too_many_rows', cap: 'contacts-upload', limit: 2000 });
  });

  it('an Excel sheet of 2000 rows passes, 2001 rows are refused', async () => {
    expect((await post('/pa/contacts/upload', await workbook(2000), { 'content-type': XLSX })).body.rows).toBe(2000);
    expect((await post('/pa/contacts/upload', await workbook(2001), { 'content-type': XLSX })).status).toBe(422);
  });

  it('sheets up to 10 MB (decimal), files under attributes up to 25 MB', async () => {
    const line = 'x'.repeat(9_999) + '\n';
    const tenMb = Buffer.from('h\n' + line.repeat(999) + 'y'.repeat(9_998)); // 10,000,000 bytes: a header and 1,000 long rows
    expect(tenMb.length).toBe(10_000_000);
    expect((await post('/pa/contacts/upload', tenMb, { 'content-type': 'text/csv' })).status).toBe(200);
    const sheet = await post('/pa/contacts/upload', Buffer.concat([tenMb, Buffer.from('z')]), { 'content-type': 'text/csv' });
    expect(sheet.status).toBe(413);
    expect(sheet.body.error).toMatchObject({ code: 'payload_too_large', limit: 10_000_000 });
    const part = (n: number) => Buffer.concat([Buffer.from('--b\r\ncontent-disposition: form-data; name="f"; filename="photo.png"\r\ncontent-type: image/png\r\n\r\n'), Buffer.alloc(n), Buffer.from('\r\n--b--\r\n')]);
    const file = await post('/pa/attributes/files', part(25_000_000), { 'content-type': 'multipart/form-data; boundary=b' });
    expect(file.status).toBe(200);
    const big = await post('/pa/attributes/files', part(25_000_001), { 'content-type': 'multipart/form-data; boundary=b' });
    expect(big.status).toBe(413);
    expect(big.body.error).toMatchObject({ code: 'file_too_large', cap: 'attribute-files', limit: 25_000_000 });
  });
});

describe('uploads the app reads in full must not slip past the row and item counts', () => {
  it('CSV with CR line ends (Excel for Mac\'s "CSV (Macintosh)") is counted row by row', async () => {
    const body = csv(2001, '\r');
    expect(csvRows(body)).toBe(2001);
    const r = await post('/pa/contacts/upload', body, { 'content-type': 'text/csv' });
    expect(r.status, JSON.stringify(r.body)).toBe(422);
  });

  it('a sheet sent under another media type (curl --data-binary, vnd.ms-excel, octet-stream, none) is still counted', async () => {
    for (const type of ['application/x-www-form-urlencoded', 'application/vnd.ms-excel', 'application/octet-stream', 'text/plain', undefined]) {
      const headers: Record<string, string> = type ? { 'content-type': type } : {};
      const over = await post('/pa/contacts/upload', csv(2001), headers);
      expect(over.status, `${type}: ${JSON.stringify(over.body)}`).toBe(422);
      expect((await post('/pa/contacts/upload', csv(2000), headers)).status, `${type}`).toBe(200);
    }
    const book = await post('/pa/contacts/upload', await workbook(2001), { 'content-type': 'application/octet-stream' });
    expect(book.status).toBe(422);
    // a CSV that merely starts with "PK" is a CSV
    const pk = 'PK,phone\n' + csv(2001).split('\n').slice(1).join('\n');
    expect((await post('/pa/contacts/upload', pk, { 'content-type': 'application/octet-stream' })).status).toBe(422);
  });

  it('a stray quote inside a field does not hide the rows after it', async () => {
    const body = 'name,phone\nO"Brien,+15550\n' + csv(2001).split('\n').slice(1).join('\n');
    expect(csvRows(body)).toBe(2002);
    const r = await post('/pa/contacts/upload', body, { 'content-type': 'text/csv' });
    expect(r.status, JSON.stringify(r.body)).toBe(422);
  });

  it('quoted fields with newlines and escaped quotes still count as one row each', async () => {
    const rows = Array.from({ length: 2000 }, (_, i) => `"c${i} ""the"" one","line 1\nline 2"`);
    const body = 'name,notes\n' + rows.join('\n') + '\n';
    expect(csvRows(body)).toBe(2000);
    expect((await post('/pa/contacts/upload', body, { 'content-type': 'text/csv' })).status).toBe(200);
  });

  it('a JSON key written with an escape ("num\\u0062ers") is the same key to the app', async () => {
    const body = `{"num\\u0062ers": ${JSON.stringify(Array.from({ length: 10_001 }, (_, i) => `+1${i}`))}}`;
    const r = await post('/pa/push', body, { 'content-type': 'application/json' });
    expect(r.status, JSON.stringify(r.body)).toBe(422);
  });

  it('a gzip-encoded body on a capped route is not waved through uncounted', async () => {
    const body = gzipSync(JSON.stringify({ numbers: Array.from({ length: 10_001 }, (_, i) => `+1${i}`) }));
    const r = await post('/pa/push', body, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(r.status, JSON.stringify(r.body)).toBe(415);
    expect(r.body.error).toMatchObject({ code: 'unsupported_content_encoding', cap: 'numbers-per-call' });
    // identity is no encoding
    const plain = await post('/pa/push', JSON.stringify({ numbers: [1] }), { 'content-type': 'application/json', 'content-encoding': 'identity' });
    expect(plain.status).toBe(200);
  });

  it('a workbook whose sheet part is named in capitals (part names are case-insensitive) is counted', async () => {
    const renamed = renameParts(await workbook(2001), 'xl/worksheets/sheet1.xml', 'xl/worksheets/Sheet1.XML');
    const r = await post('/pa/contacts/upload', renamed, { 'content-type': XLSX });
    expect(r.status, JSON.stringify(r.body)).toBe(422);
  });

  it('a workbook whose sheet lives outside xl/worksheets/ (where its relationships say, as Excel and openpyxl read it) is counted', async () => {
    const moved = renameParts(await workbook(2001), 'xl/worksheets/sheet1.xml', 'xl/data/contacts.xml');
    const r = await post('/pa/contacts/upload', moved, { 'content-type': XLSX });
    expect(r.status, JSON.stringify(r.body)).toBe(422);
    // the same workbook of 2000 rows passes: moving the part changes nothing else
    const ok = renameParts(await workbook(2000), 'xl/worksheets/sheet1.xml', 'xl/data/contacts.xml');
    expect((await post('/pa/contacts/upload', ok, { 'content-type': XLSX })).status).toBe(200);
  });

  it('rows whose cells are formulas without cached values are rows', async () => {
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('Contacts');
    ws.addRow(['name', 'phone']);
    for (let i = 0; i < 2001; i++) ws.addRow([{ formula: `"c${i}"` }, { formula: `"+1555${i}"` }]);
    const r = await post('/pa/contacts/upload', Buffer.from(await wb.xlsx.writeBuffer()), { 'content-type': XLSX });
    expect(r.status, JSON.stringify(r.body)).toBe(422);
  });
});

async function workbook(dataRows: number): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('Contacts');
  ws.addRow(['name', 'phone']);
  for (let i = 0; i < dataRows; i++) ws.addRow([`contact ${i}`, `+1555${i}`]);
  return Buffer.from(await wb.xlsx.writeBuffer());
}

/** Moves a part of the package and every reference to it, as a producer free to name its parts would write it. */
function renameParts(xlsx: Buffer, from: string, to: string): Buffer {
  const files = unzipSync(new Uint8Array(xlsx));
  const out: Record<string, Uint8Array> = {};
  const rel = (p: string) => p.replace(/^xl\//, '');
  for (const [name, data] of Object.entries(files)) {
    let text = name.endsWith('.xml') || name.endsWith('.rels') ? strFromU8(data) : undefined;
    if (text !== undefined) text = text.split(`/${from}`).join(`/${to}`).split(`"${rel(from)}"`).join(`"${rel(to)}"`);
    out[name === from ? to : name] = text !== undefined ? strToU8(text) : data;
  }
  return Buffer.from(zipSync(out));
}
