/**
 * The bytes the raw hot paths write (POST /v1/check, /v1/record and Envoy's POST /json):
 * a decision body known to be ASCII goes out as latin1 with its length as Content-Length,
 * any other as UTF-8 with its byte length. Read here off a raw socket, byte by byte: the
 * Content-Length frames exactly the body (a wrong one would run into the next pipelined
 * answer), the body decodes to the exact JSON, non-ASCII text (a rule's message, an Envoy
 * limit's name) arrives as UTF-8, the headers are exactly the decision's, and pipelined
 * requests on one keep-alive connection are answered in order.
 */
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeClock, start, stopAll } from './support.js';

afterEach(stopAll);

interface RawResponse {
  status: number;
  /** Header lines as sent, in order (name as written, value as latin1 text). */
  headers: [string, string][];
  body: Buffer;
}

/** Sends `wire` on one connection and reads `count` responses, each framed by its Content-Length. */
function exchange(port: number, wire: Buffer, count: number): Promise<RawResponse[]> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const out: RawResponse[] = [];
    const socket = connect(port, '127.0.0.1', () => socket.write(wire));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`only ${out.length} of ${count} responses within 10 s`));
    }, 10_000);
    socket.on('error', reject);
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const [statusLine, ...lines] = buf.subarray(0, end).toString('latin1').split('\r\n');
        const headers = lines.map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()] as [string, string]);
        const length = Number(headers.find(([k]) => k.toLowerCase() === 'content-length')?.[1]);
        if (!Number.isInteger(length)) return reject(new Error(`no Content-Length in ${statusLine}`));
        if (buf.length < end + 4 + length) return;
        out.push({ status: Number(statusLine.split(' ')[1]), headers, body: buf.subarray(end + 4, end + 4 + length) });
        buf = buf.subarray(end + 4 + length);
        if (out.length === count) {
          clearTimeout(timer);
          socket.destroy();
          // Nothing may follow the last framed body: a Content-Length short of the body leaves bytes over.
          return buf.length === 0 ? resolve(out) : reject(new Error(`${buf.length} bytes after the last response: ${buf.toString('latin1')}`));
        }
      }
    });
  });
}

function post(path: string, body: string): Buffer {
  const bytes = Buffer.from(body, 'utf8');
  return Buffer.concat([Buffer.from(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${bytes.length}\r\n\r\n`, 'latin1'), bytes]);
}

const MESSAGE = 'Trop de requêtes — réessayez dans une minute ’😀" \\ \n';
const POLICY = {
  version: 1,
  rules: [
    { name: 'per-user', match: { api: 'u' }, key: ['user'], limit: '2/1m', response: { message: MESSAGE } },
    { name: 'per-plain', match: { api: 'p' }, key: ['plain'], limit: '1/1m' },
    // A dropped request is answered 200 with the decision itself, message and all.
    { name: 'dropper', match: { api: 'd' }, key: ['user'], limit: '1/1m', action: 'drop', response: { message: MESSAGE } },
  ],
};

const port = (url: string) => Number(new URL(url).port);
const header = (r: RawResponse, name: string) => r.headers.find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];

describe('decision answers, byte for byte', () => {
  it('ASCII and non-ASCII bodies, pipelined on one connection, framed and decoded exactly, in order', async () => {
    const clock = fakeClock();
    const s = await start({ policy: POLICY, clock: clock.fn });
    const wire = Buffer.concat([
      post('/v1/check', '{"subject":{"api":"u","user":"u"}}'),
      post('/v1/check', '{"subject":{"api":"u","user":"u"}}'),
      post('/v1/check', '{"subject":{"api":"u","user":"u"}}'), // refused: the rule's message, not ASCII
      post('/v1/check', '{"subject":{"api":"p","plain":"p"}}'),
      post('/v1/check', '{"subject":{"api":"p","plain":"p"}}'), // refused: the default message, ASCII
      post('/v1/record', '{"subject":{"api":"u","user":"u"},"outcome":{"status":200}}'),
      post('/v1/check', '{"subject":{"api":"u","usér":"é"}}'), // the rule's key is missing: skipped says so
      post('/v1/check', '{"subject":{"api":"d","user":"u"}}'),
      post('/v1/check', '{"subject":{"api":"d","user":"u"}}'), // dropped: 200 with the decision, its message not ASCII
    ]);
    const rs = await exchange(port(s.url), wire, 9);
    expect(rs.map((r) => r.status)).toEqual([200, 200, 429, 200, 429, 200, 200, 200, 200]);
    for (const r of rs) {
      // Content-Length is the byte length of what followed (exchange checks the framing) and the body is UTF-8 JSON.
      expect(Number(header(r, 'content-length'))).toBe(r.body.length);
      expect(header(r, 'content-type')).toBe('application/json; charset=utf-8');
      expect(() => JSON.parse(r.body.toString('utf8'))).not.toThrow();
    }
    const [first, second, refused, , refusedPlain, , skipped, , dropped] = rs.map((r) => ({ ...r, json: JSON.parse(r.body.toString('utf8')) }));
    expect(first.json).toMatchObject({ allowed: true, rule: 'per-user', remaining: 1 });
    expect(second.json).toMatchObject({ allowed: true, rule: 'per-user', remaining: 0 });
    expect(refused.json.error).toMatchObject({ code: 'rate_limited', message: MESSAGE, rule: 'per-user' });
    expect(refused.body.length).toBeGreaterThan(refused.body.toString('utf8').length); // multi-byte characters made it as UTF-8
    expect(refusedPlain.json.error).toMatchObject({ rule: 'per-plain' });
    expect(dropped.json).toMatchObject({ allowed: false, action: 'drop', rule: 'dropper', message: MESSAGE });
    expect(dropped.body.length).toBeGreaterThan(dropped.body.toString('utf8').length);
    expect(skipped.json).toMatchObject({ allowed: true, skipped: expect.arrayContaining([{ rule: 'per-user', reason: 'missing_key', missing: ['user'] }]) });
  });

  it('an admitted decision: exactly the decision headers, in order, and its JSON', async () => {
    const clock = fakeClock();
    const s = await start({ policy: POLICY, clock: clock.fn });
    const [r] = await exchange(port(s.url), post('/v1/check', '{"subject":{"api":"u","user":"a"}}'), 1);
    const names = r.headers.map(([k]) => k);
    expect(names).toEqual(['content-type', 'content-length', 'RateLimit-Policy', 'RateLimit', 'Date', 'Connection', 'Keep-Alive']);
    expect(header(r, 'RateLimit-Policy')).toBe('"per-user";q=2;w=60');
    expect(header(r, 'RateLimit')).toBe('"per-user";r=1;t=60');
    expect(header(r, 'Connection')).toBe('keep-alive');
    expect(r.body.toString('latin1')).toBe(
      '{"allowed":true,"action":"allow","rule":"per-user","status":200,"limit":2,"remaining":1,"resetMs":60000,"retryAfterMs":0,' +
        '"rules":[{"name":"per-user","allowed":true,"shadow":false,"blocked":false,"limit":2,"windowMs":60000,"remaining":1,"resetMs":60000,"retryAfterMs":0}]}',
    );
  });
});

describe('Envoy /json answers, byte for byte', () => {
  const CONFIG = `
domain: d
descriptors:
  - key: plain
    rate_limit: { unit: minute, requests_per_unit: 5 }
  - key: named
    rate_limit: { name: "quota-é😀", unit: minute, requests_per_unit: 5 }
`;
  it('an ASCII and a non-ASCII answer, pipelined, framed and decoded exactly', async () => {
    const s = await start({ envoyConfig: CONFIG, clock: fakeClock().fn });
    const req = (key: string) => post('/json', JSON.stringify({ domain: 'd', descriptors: [{ entries: [{ key, value: 'v' }] }] }));
    const rs = await exchange(port(s.url), Buffer.concat([req('plain'), req('named'), req('plain')]), 3);
    expect(rs.map((r) => r.status)).toEqual([200, 200, 200]);
    for (const r of rs) expect(Number(header(r, 'content-length'))).toBe(r.body.length);
    const [plain, named, again] = rs.map((r) => JSON.parse(r.body.toString('utf8')));
    expect(plain.statuses[0]).toMatchObject({ code: 'OK', limitRemaining: 4, currentLimit: { requestsPerUnit: 5, unit: 'MINUTE' } });
    expect(named.statuses[0].currentLimit.name).toBe('quota-é😀');
    expect(rs[1].body.length).toBeGreaterThan(rs[1].body.toString('utf8').length);
    expect(again.statuses[0].limitRemaining).toBe(3);
  });
});
