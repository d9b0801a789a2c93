// Posts a large body with Node's fetch, again and again, and prints a JSON tally of what
// came back: "413 payload_too_large" or the transport error's code (ECONNRESET, EPIPE, …).
// Run in its own process: a client in the server's own event loop never sees the reset.
// argv: url tries bytes chunked(0|1) [header=value…]
const [url, tries, bytes, chunked, ...pairs] = process.argv.slice(2);
const headers = { 'content-type': 'application/json' };
for (const p of pairs) headers[p.slice(0, p.indexOf('='))] = p.slice(p.indexOf('=') + 1);
const data = Buffer.alloc(Number(bytes), 0x61);
const MB = 1024 * 1024;
const body = () =>
  chunked === '1'
    ? new ReadableStream({
        start(c) {
          for (let i = 0; i < data.length; i += MB) c.enqueue(data.subarray(i, i + MB));
          c.close();
        },
      })
    : data;
const out = {};
for (let i = 0; i < Number(tries); i++) {
  let k;
  try {
    const r = await fetch(url, { method: 'POST', body: body(), headers, duplex: 'half', signal: AbortSignal.timeout(20_000) });
    const json = await r.json().catch(() => undefined);
    k = `${r.status} ${json?.error?.code ?? '-'}`;
  } catch (e) {
    k = String(e.cause?.code ?? e.name ?? e.message);
  }
  out[k] = (out[k] ?? 0) + 1;
}
console.log(JSON.stringify(out));
