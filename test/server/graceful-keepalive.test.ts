/**
 * Shutdown counts each connection's requests in flight (src/http/graceful-close.ts): a
 * keep-alive connection that has been answered is idle and closed early, one whose request
 * is still arriving is kept open, answered with `Connection: close`, and only then closed.
 * A response that never counted as done would hold its idle connection open to the deadline.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { fakeClock, start, stopAll } from './support.js';

afterEach(stopAll);

function client(port: number): Promise<{ socket: Socket; text: () => string; ended: Promise<void> }> {
  return new Promise((resolve) => {
    let text = '';
    const socket = connect(port, '127.0.0.1');
    const ended = new Promise<void>((r) => socket.once('end', () => r()));
    socket.on('data', (d) => (text += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve({ socket, text: () => text, ended }));
  });
}

const waitFor = async (what: () => boolean) => {
  while (!what()) await new Promise((r) => setTimeout(r, 10));
};
const BODY = '{"subject":{"user":"u"}}';
const REQ = `POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${BODY.length}\r\n\r\n`;

it('closes an answered keep-alive connection early and keeps one whose request is still arriving until it is answered', async () => {
  const s = await start({ policy: { version: 1, rules: [{ name: 'r', key: ['user'], limit: '100/1m' }] }, clock: fakeClock().fn, shutdownTimeoutMs: 20_000 });
  const port = Number(new URL(s.url).port);
  const idle = await client(port);
  for (let i = 1; i <= 3; i++) {
    idle.socket.write(REQ + BODY);
    await waitFor(() => idle.text().split('HTTP/1.1 200').length - 1 === i);
  }
  const busy = await client(port);
  busy.socket.write(REQ + BODY.slice(0, 5));
  await new Promise((r) => setTimeout(r, 50)); // the request is in: its body is still coming

  const closed = s.close();
  await idle.ended; // three answered requests: idle, so ended well before the 20 s deadline
  expect(busy.socket.readyState).toBe('open');
  expect(busy.text()).toBe('');
  busy.socket.write(BODY.slice(5));
  await busy.ended;
  expect(busy.text()).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
  expect(busy.text()).toMatch(/\r\nConnection: close\r\n/i);
  await closed;
});
