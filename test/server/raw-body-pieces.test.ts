/**
 * The raw body reader of the hot paths (src/server/raw-body.ts) over a real socket: a body
 * that arrives in pieces (a multi-byte character cut between two of them, a chunked body)
 * is read whole and exactly; requests on one keep-alive connection, one complete and one
 * still arriving, are each answered with their own body, in order; a chunked body past the
 * limit is refused 413 mid-stream while the next request on the connection is served.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { fakeClock, start, stopAll } from './support.js';

afterEach(stopAll);

const POLICY = { version: 1, rules: [{ name: 'per-user', key: ['user'], limit: '1/1m' }] };

/** A connection that collects what the server sends, and can wait for n complete responses. */
function open(port: number): Promise<{ socket: Socket; responses(n: number): Promise<{ status: number; body: any }[]> }> {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    const socket = connect(port, '127.0.0.1', () =>
      resolve({
        socket,
        responses: (n) =>
          new Promise((done, fail) => {
            const timer = setTimeout(() => fail(new Error(`fewer than ${n} responses in 10 s: ${buf.toString('latin1')}`)), 10_000);
            const check = () => {
              const out: { status: number; body: any }[] = [];
              let rest = buf;
              while (out.length < n) {
                const end = rest.indexOf('\r\n\r\n');
                if (end < 0) return;
                const head = rest.subarray(0, end).toString('latin1');
                const length = Number(/content-length: (\d+)/i.exec(head)?.[1]);
                if (rest.length < end + 4 + length) return;
                out.push({ status: Number(head.split(' ')[1]), body: JSON.parse(rest.subarray(end + 4, end + 4 + length).toString('utf8')) });
                rest = rest.subarray(end + 4 + length);
              }
              clearTimeout(timer);
              socket.off('data', check);
              done(out);
            };
            socket.on('data', check);
            check();
          }),
      }),
    );
    socket.on('data', (d: Buffer) => (buf = Buffer.concat([buf, d])));
  });
}

const pause = () => new Promise((r) => setTimeout(r, 30));
const head = (path: string, length: number) => `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;

it('a body in pieces, a multi-byte character cut between two, is read whole: the same key as the body sent at once', async () => {
  const s = await start({ policy: POLICY, clock: fakeClock().fn });
  const c = await open(Number(new URL(s.url).port));
  const body = Buffer.from('{"subject":{"user":"é😀ü"}}', 'utf8');
  const cut = body.indexOf(Buffer.from('😀', 'utf8')) + 2; // inside the 4-byte character
  c.socket.write(head('/v1/check', body.length));
  await pause();
  c.socket.write(body.subarray(0, cut));
  await pause();
  c.socket.write(body.subarray(cut, cut + 1));
  await pause();
  c.socket.write(body.subarray(cut + 1));
  const [first] = await c.responses(1);
  expect(first).toMatchObject({ status: 200, body: { allowed: true, remaining: 0 } });
  // The same subject in one piece: the same key, now over its limit.
  const whole = await s.post('/v1/check', { subject: { user: 'é😀ü' } });
  expect(whole.status).toBe(429);
  c.socket.destroy();
});

it('two requests on one connection, the second still arriving after the first is answered: each its own answer, in order', async () => {
  const s = await start({ policy: POLICY, clock: fakeClock().fn });
  const c = await open(Number(new URL(s.url).port));
  const a = '{"subject":{"user":"a"}}';
  const b = '{"subject":{"user":"b"},"cost":1}';
  c.socket.write(head('/v1/check', a.length) + a + head('/v1/check', b.length) + b.slice(0, 10));
  await pause();
  c.socket.write(b.slice(10));
  const rs = await c.responses(2);
  expect(rs.map((r) => [r.status, r.body.allowed, r.body.remaining])).toEqual([
    [200, true, 0],
    [200, true, 0],
  ]);
  // Each charged its own key: both are now refused.
  expect((await s.post('/v1/check', { subject: { user: 'a' } })).status).toBe(429);
  expect((await s.post('/v1/check', { subject: { user: 'b' } })).status).toBe(429);
  c.socket.destroy();
});

it('a chunked body is read whole; one past the limit is refused 413 mid-stream and the connection serves the next request', async () => {
  const s = await start({ policy: POLICY, clock: fakeClock().fn, bodyLimit: 256 });
  const c = await open(Number(new URL(s.url).port));
  const chunked = (parts: string[]) => `POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${parts.map((p) => `${Buffer.byteLength(p).toString(16)}\r\n${p}\r\n`).join('')}0\r\n\r\n`;
  c.socket.write(chunked(['{"subject":', '{"user":"chunk', 'ed"}}']));
  const [ok] = await c.responses(1);
  expect(ok).toMatchObject({ status: 200, body: { allowed: true, rule: 'per-user' } });
  const big = `{"subject":{"user":"${'x'.repeat(400)}"}}`;
  c.socket.write(chunked([big.slice(0, 200), big.slice(200)]) + head('/v1/check', 24) + '{"subject":{"user":"z"}}');
  const rs = await c.responses(3);
  expect(rs[1]).toMatchObject({ status: 413, body: { error: { code: 'payload_too_large' } } });
  expect(rs[2]).toMatchObject({ status: 200, body: { allowed: true, remaining: 0 } });
  c.socket.destroy();
});
