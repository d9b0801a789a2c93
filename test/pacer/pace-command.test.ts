import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { paceCommand, parseAdaptiveRange } from '../../src/pacer/command.js';
import { formatEta, formatProgress } from '../../src/pacer/progress.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-pace-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sink(isTTY = false) {
  const chunks: string[] = [];
  const w = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  }) as Writable & { isTTY?: boolean };
  w.isTTY = isTTY;
  return { w, text: () => chunks.join('') };
}

function jobsFile(name: string, lines: unknown[]): string {
  const file = join(dir, name);
  writeFileSync(file, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
  return file;
}

describe('sluice pace', () => {
  let server: Server;
  let base: string;
  const hits: { path: string; method: string; body: string; at: number }[] = [];
  const failOnce = new Set<string>();
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        const path = req.url ?? '/';
        hits.push({ path, method: req.method ?? '', body, at: Date.now() });
        if (path.startsWith('/broken')) {
          res.writeHead(500).end('boom');
        } else if (path.startsWith('/flaky') && !failOnce.has(path)) {
          failOnce.add(path);
          res.writeHead(503, { 'retry-after': '0' }).end();
        } else res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('without a url, "processes" each job by writing it to stdout, at the rate', async () => {
    const lines = Array.from({ length: 30 }, (_, i) => ({ key: `ch-${i % 2}`, n: i }));
    const out = sink();
    const err = sink();
    const t0 = Date.now();
    const r = await paceCommand({ file: jobsFile('plain.jsonl', lines), rate: '100/s', stdout: out.w, stderr: err.w, handleSigint: false });
    const took = Date.now() - t0;
    expect(r).toMatchObject({ total: 30, sent: 30, failed: 0, notSent: 0, exitCode: 0, interrupted: false });
    const emitted = out.text().trim().split('\n').map((l) => JSON.parse(l) as { n: number });
    expect(emitted.map((e) => e.n).sort((a, b) => a - b)).toEqual(lines.map((l) => l.n));
    // 15 per key at 100/s: at least 140 ms (no upper timing bound: loaded machines).
    expect(took).toBeGreaterThanOrEqual(130);
    expect(err.text()).toMatch(/done in .*sent 30, failed 0, not sent 0/);
  });

  it('sends lines with fetch, retries 5xx, reports failures with line numbers and exits 1', async () => {
    const lines: unknown[] = [
      { key: 'a', url: `${base}/ok/1`, method: 'POST', body: { text: 'hi' } },
      { key: 'a', url: '/ok/2' }, // relative to --url
      { key: 'b', url: `${base}/broken/3` },
      'this is not json',
      { key: 'b', url: `${base}/flaky/5`, body: 'raw' },
      {}, // no url: goes to --url itself
    ];
    const err = sink();
    const r = await paceCommand({ file: jobsFile('http.jsonl', lines), rate: '50/s', url: `${base}/ok/base`, retries: 1, stderr: err.w, handleSigint: false });
    expect(r).toMatchObject({ sent: 4, failed: 2, notSent: 0, exitCode: 1 });
    expect(err.text()).toMatch(/line 3: HTTP 500/);
    expect(err.text()).toMatch(/line 4: not a JSON object/);
    const post = hits.find((h) => h.path === '/ok/1')!;
    expect(post).toMatchObject({ method: 'POST', body: '{"text":"hi"}' });
    expect(hits.filter((h) => h.path === '/flaky/5').length).toBe(2);
    expect(hits.some((h) => h.path === '/ok/2' && h.method === 'GET')).toBe(true);
    expect(hits.some((h) => h.path === '/ok/base')).toBe(true);
  });

  it('stops gracefully on interrupt: starts nothing more and reports (and saves) what was not sent', async () => {
    const lines = Array.from({ length: 40 }, (_, i) => ({ key: 'slow', url: `${base}/ok/int-${i}` }));
    const err = sink();
    const ac = new AbortController();
    const unsent = join(dir, 'unsent.jsonl');
    setTimeout(() => ac.abort(), 250);
    const r = await paceCommand({ file: jobsFile('int.jsonl', lines), rate: '10/s', signal: ac.signal, unsentFile: unsent, stderr: err.w, handleSigint: false });
    expect(r.interrupted).toBe(true);
    expect(r.exitCode).toBe(130);
    expect(r.sent).toBeGreaterThan(0);
    expect(r.sent).toBeLessThan(40);
    expect(r.sent + r.failed + r.notSent).toBe(40);
    const saved = readFileSync(unsent, 'utf8').trim().split('\n');
    expect(saved.length).toBe(r.unsentLines.length);
    expect(err.text()).toMatch(/interrupted/);
    expect(err.text()).toMatch(/not sent: lines \d+-40/);
    const sentPaths = new Set(hits.filter((h) => h.path.includes('/int-')).map((h) => h.path));
    for (const line of saved) expect(sentPaths.has(new URL((JSON.parse(line) as { url: string }).url).pathname)).toBe(false);
  });

  it('shows a live bar on a terminal and plain lines otherwise', async () => {
    const lines = Array.from({ length: 20 }, (_, i) => ({ n: i }));
    const tty = sink(true);
    await paceCommand({ file: jobsFile('p1.jsonl', lines), rate: '50/s', stdout: sink().w, stderr: tty.w, progressIntervalMs: 50, handleSigint: false });
    expect(tty.text()).toContain('\r\u001b[2K[');
    expect(tty.text()).toMatch(/\[#*\.*\] +\d+%/);
    expect(tty.text()).toMatch(/ETA/);
    const plain = sink(false);
    await paceCommand({ file: jobsFile('p2.jsonl', lines), rate: '50/s', stdout: sink().w, stderr: plain.w, progressIntervalMs: 50, handleSigint: false });
    expect(plain.text()).not.toMatch(/\r/);
    expect(plain.text()).toMatch(/^\d+\/20 \(\d+%\) +sent \d+ +failed 0 +queued \d+/m);
  });

  it('rejects a bad rate and a missing file clearly', async () => {
    await expect(paceCommand({ file: jobsFile('x.jsonl', [{}]), rate: 'fast', handleSigint: false })).rejects.toThrow(/rate.*80\/s|not a limit/);
    await expect(paceCommand({ file: join(dir, 'missing.jsonl'), rate: '1/s', handleSigint: false })).rejects.toThrow(/cannot read/);
  });
});

describe('progress formatting', () => {
  it('formats ETA and lines', () => {
    expect(formatEta(65_000)).toBe('1m05s');
    expect(formatEta(3_700_000)).toBe('1h01m');
    const line = formatProgress({ total: 10_000, sent: 2000, failed: 0, queued: 8000, running: 4, ratePerSec: 80, elapsedMs: 25_000 }, { bar: true, targetRatePerSec: 80, width: 10 });
    expect(line).toBe('[##........]  20%  sent 2000  failed 0  queued 8000  running 4  rate 80.0/s  ETA 1m40s');
  });
});

describe('parseAdaptiveRange', () => {
  it('reads min..max and rejects nonsense', () => {
    expect(parseAdaptiveRange('5/s..200/s')).toEqual({ min: '5/s', max: '200/s' });
    expect(parseAdaptiveRange(' 1/1m .. 10/s ')).toEqual({ min: '1/1m', max: '10/s' });
    expect(parseAdaptiveRange('1/s-50/s')).toEqual({ min: '1/s', max: '50/s' });
    expect(() => parseAdaptiveRange('200/s')).toThrow(/5\/s\.\.200\/s/);
    expect(() => parseAdaptiveRange('20/s..5/s')).toThrow(/above the maximum/);
  });
});
