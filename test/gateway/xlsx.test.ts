import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import ExcelJS from 'exceljs';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startGateway, type Gateway } from '../../src/gateway/index.js';
import { capPlan, CapMeter } from '../../src/http/caps.js';
import { XLSX_TYPE } from '../../src/http/caps/xlsx-row-counter.js';
import { sluice as expressSluice } from '../../src/middleware/express.js';
import { loadPolicyText } from '../../src/policy/index.js';
import { multipart } from './support.js';

/**
 * Seed 002: "Maximum Contact Upload in one campaign from Excel, CSV sheet: 5000". Real .xlsx
 * workbooks (written by exceljs) of 5,000 and 5,001 data rows under a header, through the
 * gateway and the Express middleware, as a multipart upload and as a bare body.
 */

const POLICY = `version: 1
routes:
  - { method: POST, path: /v1/contacts/upload, api: Upload Contacts Sheet }
rules:
  - { name: uploads, match: { api: Upload Contacts Sheet }, limit: 100/1m }
caps:
  - { name: contact-sheet, match: { api: Upload Contacts Sheet }, max_rows: 5000, max_file: 10MB }
`;

async function workbook(dataRows: number, sheets = 1): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  for (let s = 0; s < sheets; s++) {
    const ws = wb.addWorksheet(`Contacts ${s + 1}`);
    ws.addRow(['name', 'phone']);
    const share = Math.floor(dataRows / sheets) + (s < dataRows % sheets ? 1 : 0);
    for (let i = 0; i < share; i++) ws.addRow([`contact ${s}-${i}`, `+1555${String(i).padStart(7, '0')}`]);
  }
  return Buffer.from(await wb.xlsx.writeBuffer());
}

const upload = (data: Buffer) => multipart('XlsX', [{ name: 'campaign', data: 'spring' }, { name: 'sheet', filename: 'contacts.xlsx', type: XLSX_TYPE, data }]);

let ok: Buffer;
let over: Buffer;
let overAcrossSheets: Buffer;

beforeAll(async () => {
  [ok, over, overAcrossSheets] = await Promise.all([workbook(5000), workbook(5001), workbook(5001, 3)]);
});

describe('max_rows counts the rows of .xlsx sheets as they stream', () => {
  const policy = loadPolicyText(POLICY);
  const verdict = (type: string, body: Buffer, chunk: number) => {
    const meter = new CapMeter(capPlan(policy, { api: 'Upload Contacts Sheet' })!, type);
    for (let i = 0; i < body.length; i += chunk) {
      const v = meter.push(body.subarray(i, i + chunk));
      if (v) return v.code;
    }
    return meter.end()?.code ?? 'ok';
  };

  it('5,000 data rows pass and 5,001 are refused, whatever the chunking, the header row not counted', () => {
    for (const chunk of [61, 997, 4096, 1 << 20]) {
      expect(verdict(XLSX_TYPE, ok, chunk)).toBe('ok');
      expect(verdict(XLSX_TYPE, over, chunk)).toBe('too_many_rows');
      expect(verdict('multipart/form-data; boundary=XlsX', upload(ok), chunk)).toBe('ok');
      expect(verdict('multipart/form-data; boundary=XlsX', upload(over), chunk)).toBe('too_many_rows');
    }
  });

  it('rows of every worksheet count together', () => {
    expect(verdict(XLSX_TYPE, overAcrossSheets, 4096)).toBe('too_many_rows');
  });

  it('refuses the chunk that crosses the cap, before the workbook has arrived', () => {
    const meter = new CapMeter(capPlan(policy, { api: 'Upload Contacts Sheet' })!, XLSX_TYPE);
    let at = -1;
    for (let i = 0; i < over.length && at < 0; i += 512) if (meter.push(over.subarray(i, i + 512))) at = i;
    expect(at).toBeGreaterThan(0);
    // the shared strings (written after the sheet) were never needed
    expect(at + 512).toBeLessThan(over.length);
  });

  it('a file that only claims to be a workbook is not counted as rows (the app refuses it)', () => {
    expect(verdict(XLSX_TYPE, Buffer.from('name,phone\n'.repeat(6000)), 4096)).toBe('ok');
  });
});

describe('through the gateway and the Express middleware', () => {
  let hits = 0;
  let upstream: Server;
  let gw: Gateway;
  let app: Server;
  let appUrl: string;

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      hits++;
      req.resume();
      req.on('end', () => res.end('{"uploaded":true}'));
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
    gw = await startGateway({ policy: POLICY, upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, port: 0 });
    const e = express();
    e.use(expressSluice({ policy: POLICY }));
    e.use(express.raw({ type: () => true, limit: '20mb' }));
    e.post('/v1/contacts/upload', (req, res) => {
      hits++;
      res.json({ uploaded: (req.body as Buffer).length });
    });
    app = createServer(e);
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', () => r()));
    appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await gw.close();
    upstream.close();
    app.closeAllConnections();
    app.close();
  });

  const post = async (base: string, type: string, body: Buffer) => {
    const r = await request(`${base}/v1/contacts/upload`, { method: 'POST', headers: { 'content-type': type }, body });
    return { status: r.statusCode, json: (await r.body.json()) as { error?: { code: string; message: string } } };
  };

  for (const [name, base] of [
    ['gateway', () => gw.url],
    ['express', () => appUrl],
  ] as const) {
    it(`${name}: 5,000 rows reach the app, 5,001 are refused with 422 and never do`, async () => {
      for (const [type, body] of [
        [XLSX_TYPE, ok],
        ['multipart/form-data; boundary=XlsX', upload(ok)],
      ] as const) {
        const before = hits;
        expect((await post(base(), type, body)).status).toBe(200);
        expect(hits).toBe(before + 1);
      }
      for (const [type, body] of [
        [XLSX_TYPE, over],
        ['multipart/form-data; boundary=XlsX', upload(over)],
      ] as const) {
        const before = hits;
        const r = await post(base(), type, body);
        expect(r.status).toBe(422);
        expect(r.json.error).toMatchObject({ code: 'too_many_rows' });
        expect(r.json.error!.message).toMatch(/at most 5000 rows/);
        expect(hits).toBe(before);
      }
    });
  }
});
