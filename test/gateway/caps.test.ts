import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { capPlan, CapMeter } from '../../src/http/caps.js';
import { compileClientIp, compileRoutes } from '../../src/http/subject.js';
import { loadPolicy } from '../../src/policy/load.js';
import { csv, multipart } from './support.js';

const policy = loadPolicy({
  rules: [{ name: 'r', limit: '10/1m' }],
  caps: [
    { name: 'nums', match: { api: 'push' }, max_items: [{ path: '$.numbers', max: 3 }, { path: '$.groups[*].ids', max: 4 }] },
    { name: 'sheet', match: { api: 'upload' }, max_rows: 3, max_file: 100 },
  ],
});

/** Feeds a body split at the given cut points; the verdict must not depend on where chunks break. */
function verdict(api: string, contentType: string, body: Buffer, cuts: number[]) {
  const meter = new CapMeter(capPlan(policy, { api })!, contentType);
  const points = [...new Set(cuts.map((c) => c % (body.length + 1)))].sort((a, b) => a - b);
  let from = 0;
  for (const p of [...points, body.length]) {
    const v = meter.push(body.subarray(from, p));
    from = p;
    if (v) return v.code;
  }
  return meter.end()?.code ?? 'ok';
}

describe('streaming caps: the verdict does not depend on chunk boundaries', () => {
  const cases: [string, string, string, Buffer][] = [
    ['3 numbers pass', 'push', 'application/json', Buffer.from('{"numbers":[1, 2.5e3, -3],"other":[1,2,3,4,5]}')],
    ['4 numbers refused', 'push', 'application/json', Buffer.from('{"note":"numbers\\"]:[","numbers":[1,2,3,4]}')],
    ['nested keys named alike do not count', 'push', 'application/json', Buffer.from('{"meta":{"numbers":[1,2,3,4,5]},"numbers":[[1,2],{"a":[1]},"x"]}')],
    ['items under [*] are summed', 'push', 'application/json', Buffer.from('{"groups":[{"ids":[1,2]},{"ids":[3,4,5]}]}')],
    ['3 csv rows pass', 'upload', 'multipart/form-data; boundary=XyZ', multipart('XyZ', [{ name: 'f', filename: 'a.csv', type: 'text/csv', data: 'h\n1\n"2\n2b"\n3' }])],
    ['4 csv rows refused', 'upload', 'multipart/form-data; boundary=XyZ', multipart('XyZ', [{ name: 'f', filename: 'a.csv', data: csv(4) }])],
    ['a file over 100 bytes refused', 'upload', 'multipart/form-data; boundary=XyZ', multipart('XyZ', [{ name: 'n', data: 'x'.repeat(500) }, { name: 'f', filename: 'a.bin', data: Buffer.alloc(101) }])],
    ['a plain field is not a file', 'upload', 'multipart/form-data; boundary=XyZ', multipart('XyZ', [{ name: 'n', data: 'x'.repeat(500) }, { name: 'f', filename: 'a.bin', data: Buffer.alloc(100) }])],
  ];
  const expected = ['ok', 'too_many_items', 'ok', 'too_many_items', 'ok', 'too_many_rows', 'file_too_large', 'ok'];
  cases.forEach(([name, api, type, body], i) => {
    it(name, () => {
      expect(verdict(api, type, body, [])).toBe(expected[i]);
      fc.assert(fc.property(fc.array(fc.nat(), { maxLength: 12 }), (cuts) => verdict(api, type, body, cuts) === expected[i]), { numRuns: 200 });
      // every single-byte chunking too
      expect(verdict(api, type, body, Array.from({ length: body.length }, (_, k) => k))).toBe(expected[i]);
    });
  });
});

describe('client IP and routes', () => {
  it('walks X-Forwarded-For right to left through trusted hops only', () => {
    const ip = compileClientIp(['10.0.0.0/8', 'fd00::/8']);
    const h = (xff: string) => ({ 'x-forwarded-for': xff });
    expect(ip('::ffff:10.0.0.5', h('6.6.6.6, 1.2.3.4, 10.0.0.9'))).toBe('1.2.3.4');
    expect(ip('fd00::1', h('2001:db8::1'))).toBe('2001:db8::1');
    expect(ip('8.8.8.8', h('1.2.3.4'))).toBe('8.8.8.8'); // untrusted peer: header ignored
    expect(ip('10.0.0.5', h('garbage, 10.0.0.7'))).toBe('10.0.0.7');
    expect(compileClientIp([])('::ffff:127.0.0.1', h('1.2.3.4'))).toBe('127.0.0.1');
    expect(() => compileClientIp(['10.0.0.0/33'])).toThrow(/prefix/);
  });

  it('matches routes by method and pattern, first in policy order', () => {
    const table = compileRoutes([
      { path: '/v1/recordings/:id/audio', api: 'Get Recording Audio', methods: new Set(['GET']) },
      { path: '/v1/recordings/latest/audio', api: 'Shadowed' },
      { path: '/v1/files/*', api: 'Files', set: { kind: 'file' } },
    ])!;
    const s: Record<string, string | number | boolean> = {};
    table('GET', '/v1/recordings/r%201/audio', s);
    expect(s).toMatchObject({ api: 'Get Recording Audio', id: 'r 1', route: '/v1/recordings/:id/audio' });
    const t: Record<string, string | number | boolean> = {};
    table('GET', '/v1/recordings/latest/audio', t);
    expect(t.api).toBe('Get Recording Audio');
    const u: Record<string, string | number | boolean> = {};
    table('POST', '/v1/files/a/b', u);
    expect(u).toMatchObject({ api: 'Files', kind: 'file' });
  });
});
