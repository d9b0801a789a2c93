import { describe, expect, it } from 'vitest';
import { accessLogParser } from '../../src/simulate/formats/access-log.js';
import { parseClfTime } from '../../src/simulate/formats/clf-time.js';
import { detectFormat } from '../../src/simulate/formats/detect.js';
import { envoyParser } from '../../src/simulate/formats/envoy.js';
import { JSON_FIELDS, jsonLinesParser } from '../../src/simulate/formats/json-lines.js';
import type { LogEntry } from '../../src/simulate/log-entry.js';
import { loadWithRoutes } from '../../src/simulate/routes-overlay.js';
import { simulate } from '../../src/simulate/simulate.js';
import { fieldMap } from '../../src/simulate/command.js';
import { calls, clf, combined, envoyLine, example, jsonLine, logFile, ROUTES, T0, tmpFile } from './support/lines.js';

const entry = (v: LogEntry | string): LogEntry => {
  if (typeof v === 'string') throw new Error(`unparsed: ${v}`);
  return v;
};

describe('CLF timestamps', () => {
  it('reads the zone offset', () => {
    expect(parseClfTime('10/Oct/2000:13:55:36 -0700')).toBe(Date.UTC(2000, 9, 10, 20, 55, 36));
    expect(parseClfTime('23/Nov/2026:09:00:00 +0000')).toBe(T0);
    expect(parseClfTime('01/Jan/2026:00:30:00 +0530')).toBe(Date.UTC(2025, 11, 31, 19, 0, 0));
  });
  it('refuses what is not one', () => {
    for (const bad of ['', '10/Oct/2000', '10/Foo/2000:13:55:36 -0700', '10/Oct/2000:25:55:36 -0700', '10/Oct/2000:13:55:36 *0700', 'xx/Oct/2000:13:55:36 -0700']) expect(parseClfTime(bad)).toBeNaN();
  });
});

describe('the CLF / Combined reader', () => {
  const parse = accessLogParser();
  it('reads Apache’s CLF example line', () => {
    const e = entry(parse('127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326', 1));
    expect(e).toEqual({ line: 1, timeMs: Date.UTC(2000, 9, 10, 20, 55, 36), method: 'GET', url: '/apache_pb.gif', status: 200, bytes: 2326, remoteAddress: '127.0.0.1', headers: {} });
  });
  it('reads Combined’s referer and user agent, and nginx main’s X-Forwarded-For', () => {
    const e = entry(parse('10.0.0.2 - - [23/Nov/2026:09:00:00 +0000] "POST /v1/x?a=1 HTTP/2.0" 429 0 "https://a.example/" "curl/8.5.0" "198.51.100.1, 10.0.0.1"', 7));
    expect(e).toMatchObject({ line: 7, method: 'POST', url: '/v1/x?a=1', status: 429, bytes: 0, headers: { referer: 'https://a.example/', 'user-agent': 'curl/8.5.0', 'x-forwarded-for': '198.51.100.1, 10.0.0.1' } });
  });
  it('takes "-" bytes as 0 and "-" fields as absent, and escaped quotes inside fields', () => {
    const e = entry(parse('1.2.3.4 - - [23/Nov/2026:09:00:00 +0000] "GET /q?x=\\"y\\" HTTP/1.1" 304 - "-" "a \\"quoted\\" agent"', 1));
    expect(e).toMatchObject({ url: '/q?x=\\"y\\"', bytes: 0, headers: { 'user-agent': 'a \\"quoted\\" agent' } });
    expect(e.headers.referer).toBeUndefined();
  });
  it('says why a line cannot be read', () => {
    const cases: [string, RegExp][] = [
      ['', /no client address/],
      ['garbage', /no client address/],
      ['1.2.3.4 - - 23/Nov/2026 "GET / HTTP/1.1" 200 1', /timestamp/],
      ['1.2.3.4 - - [yesterday] "GET / HTTP/1.1" 200 1', /bad timestamp/],
      ['1.2.3.4 - - [23/Nov/2026:09:00:00 +0000] "-" 400 0', /no method and path/],
      ['1.2.3.4 - - [23/Nov/2026:09:00:00 +0000] "get / HTTP/1.1" 200 1', /not an HTTP method/],
      ['1.2.3.4 - - [23/Nov/2026:09:00:00 +0000] "GET / HTTP/1.1" 2x0 1', /bad status/],
      ['1.2.3.4 - - [23/Nov/2026:09:00:00 +0000] "GET / HTTP/1.1" 200 x', /bad byte count/],
      ['1.2.3.4 - - [23/Nov/2026:09:00:00 +0000] "GET / HTTP/1.1', /not closed/],
    ];
    for (const [line, why] of cases) expect(parse(line, 1)).toMatch(why);
  });
});

describe('the JSON-lines reader', () => {
  it('finds fields under common names, headers as objects, nginx http_* variables and x_* keys', () => {
    const parse = jsonLinesParser(JSON_FIELDS);
    const e = entry(parse(JSON.stringify({ '@timestamp': '2026-11-23T09:00:00Z', request: 'GET /v1/a HTTP/1.1', status: '200', body_bytes_sent: '12', remote_addr: '1.2.3.4', http_x_account_id: 'acme', x_tenant: 't1', headers: { 'X-Api-Key': 'k' } }), 3));
    expect(e).toEqual({ line: 3, timeMs: T0, method: 'GET', url: '/v1/a', status: 200, bytes: 12, remoteAddress: '1.2.3.4', headers: { 'x-account-id': 'acme', 'x-tenant': 't1', 'x-api-key': 'k' } });
  });
  it('takes epoch seconds and milliseconds', () => {
    const parse = jsonLinesParser(JSON_FIELDS);
    expect(entry(parse(JSON.stringify({ ts: T0 / 1000, method: 'GET', path: '/', status: 200 }), 1)).timeMs).toBe(T0);
    expect(entry(parse(JSON.stringify({ ts: T0, method: 'GET', path: '/', status: 200 }), 1)).timeMs).toBe(T0);
  });
  it('maps fields as told (--field)', () => {
    const parse = jsonLinesParser(JSON_FIELDS, fieldMap(['time=when', 'url=req.target', 'method=req.verb', 'status=res.code', 'header.x-account-id=who.account']));
    const e = entry(parse(JSON.stringify({ when: '2026-11-23T09:00:00Z', req: { target: '/v1/z', verb: 'put' }, res: { code: 201 }, who: { account: 'acme' } }), 1));
    expect(e).toMatchObject({ timeMs: T0, method: 'PUT', url: '/v1/z', status: 201, headers: { 'x-account-id': 'acme' } });
  });
  it('says why a line cannot be read', () => {
    const parse = jsonLinesParser(JSON_FIELDS);
    expect(parse('{"time":', 1)).toMatch(/not JSON/);
    expect(parse('[1,2]', 1)).toMatch(/not a JSON object/);
    expect(parse('{"method":"GET"}', 1)).toMatch(/no time field/);
    expect(parse('{"time":"nope","method":"GET","path":"/","status":200}', 1)).toMatch(/bad time/);
    expect(parse('{"time":1,"path":"/","status":200}', 1)).toMatch(/no method/);
    expect(parse('{"time":1,"method":"GET","path":"/","status":99}', 1)).toMatch(/status/);
    expect(() => fieldMap(['nonsense'])).toThrow(/name=path/);
    expect(() => fieldMap(['colour=x'])).toThrow(/known fields/);
  });
});

describe('the Envoy reader', () => {
  it('reads Envoy’s JSON access log, dropping the port of the peer address', () => {
    const e = entry(envoyParser()(envoyLine({ atMs: T0, path: '/v1/r', status: 509, bytes: 99, headers: { 'x-tenant-id': 'acme' } }), 1));
    expect(e).toMatchObject({ timeMs: T0, method: 'GET', url: '/v1/r', status: 509, bytes: 99, remoteAddress: '203.0.113.9:51234', headers: { 'x-tenant-id': 'acme' } });
  });
});

describe('format detection', () => {
  const r = { atMs: T0, path: '/' };
  it('tells the formats apart from their first lines', () => {
    expect(detectFormat([clf(r)])).toBe('clf');
    expect(detectFormat([combined(r)])).toBe('combined');
    expect(detectFormat([jsonLine(r)])).toBe('json');
    expect(detectFormat([envoyLine(r)])).toBe('envoy');
    expect(detectFormat(['hello', 'world'])).toBeUndefined();
    expect(detectFormat(['', '  '])).toBeUndefined();
  });
});

describe('every format, end to end: 61 calls in a minute, line 61 refused', () => {
  const policy = () => loadWithRoutes(example('contact-center-ai.yaml'), ROUTES);
  const reqs = calls(61, 'acct-7', 900);
  const cases: [string, (r: (typeof reqs)[number]) => string, boolean][] = [
    ['clf', clf, false],
    ['combined', combined, false],
    ['json', jsonLine, false],
    ['envoy', envoyLine, false],
    ['combined', combined, true],
    ['json', jsonLine, true],
  ];
  for (const [format, write, gzip] of cases) {
    it(`${format}${gzip ? ' (gzip)' : ''}, detected`, async () => {
      const file = logFile(`61.${format}${gzip ? '.gz' : ''}`, reqs, write, gzip);
      const r = await simulate({ policy: policy(), log: file });
      expect(r.format).toBe(format);
      expect(r).toMatchObject({ lines: 61, unparsed: 0 });
      expect(r.rules[0]).toMatchObject({ refused: 1, firstRefusal: { line: 61 } });
    });
  }

  it('unparseable lines are counted and listed with their line numbers, the rest decided', async () => {
    const lines = reqs.map(combined);
    lines.splice(9, 0, 'this is not a log line'); // line 10
    lines.splice(29, 0, '1.2.3.4 - - [23/Nov/2026:09:00:20 +0000] "-" 400 0 "-" "-"'); // line 30
    lines.splice(39, 0, ''); // line 40: blank, not an error
    const r = await simulate({ policy: policy(), log: tmpFile('unparsed.log', lines.join('\r\n')) });
    expect(r).toMatchObject({ lines: 64, unparsed: 2, blank: 1, decided: 61 });
    expect(r.unparsedLines.map((u) => u.line)).toEqual([10, 30]);
    expect(r.unparsedLines[0].reason).toMatch(/no \[timestamp\]/);
    expect(r.rules[0].firstRefusal?.line).toBe(64);
  });

  it('an overlong line is reported, not held', async () => {
    const lines = [combined(reqs[0]), 'x'.repeat(3 << 20), combined(reqs[1])];
    const r = await simulate({ policy: policy(), log: tmpFile('long.log', lines.join('\n')), format: 'combined' });
    expect(r).toMatchObject({ lines: 3, unparsed: 1, decided: 2 });
    expect(r.unparsedLines[0]).toEqual({ line: 2, reason: 'longer than 1 MiB' });
  });

  it('a log that is no known format is refused with a clear error', async () => {
    await expect(simulate({ policy: policy(), log: tmpFile('prose.log', 'hello\nworld\n') })).rejects.toThrow(/cannot tell the log format.*--format/);
    await expect(simulate({ policy: policy(), log: '/nonexistent/x.log' })).rejects.toThrow(/cannot read log .*no such file/);
    await expect(simulate({ policy: policy(), log: tmpFile('bad.gz', Buffer.from([0x1f, 0x8b, 1, 2, 3, 4, 5])) })).rejects.toThrow(/gzip/);
  });

  it('--from / --to keep only the lines inside', async () => {
    const r = await simulate({ policy: policy(), log: logFile('range.log', reqs), fromMs: T0 + 9000, toMs: T0 + 18_000 });
    expect(r).toMatchObject({ decided: 10, skipped: 51 });
  });
});
