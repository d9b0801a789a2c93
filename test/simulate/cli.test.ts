/** `sluice simulate` run as a child process: stdin, gzip, --generate, --json, --report, and errors without stacks. */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundle } from '../helpers/bundle.js';
import { calls, combined, envoyLine, example, ROUTES, tmpFile } from './support/lines.js';

let cli: string;
beforeAll(async () => {
  cli = await bundle(new URL('../../src/cli.ts', import.meta.url));
}, 60_000);

function sluice(args: string[], stdin?: string | Buffer): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => resolve({ code, out, err }));
    child.stdin.end(stdin ?? '');
  });
}

const policyArgs = ['--config', example('contact-center-ai.yaml'), '--routes', ROUTES];
const log61 = calls(61, 'acct-7', 900).map(combined).join('\n') + '\n';

describe('sluice simulate (CLI)', () => {
  it('reads stdin (-) and prints the --json result in the issue’s shape', async () => {
    const { code, out, err } = await sluice(['simulate', ...policyArgs, '--log', '-', '--json'], log61);
    expect(err).toBe('');
    expect(code).toBe(0);
    const r = JSON.parse(out);
    expect(r).toMatchObject({ lines: 61, unparsed: 0, rules: [{ rule: 'account-per-minute', matched: 61, admitted: 60, refused: 1, dropped: 0, topKeys: [{ key: { account: 'acct-7' }, refused: 1 }] }] });
    expect(r.compare).toBeUndefined();
  });

  it('reads gzip from stdin, Envoy JSON detected', async () => {
    const text = calls(61, 'acct-7', 900).map(envoyLine).join('\n');
    const { code, out } = await sluice(['simulate', ...policyArgs, '--log', '-', '--json'], gzipSync(text));
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ format: 'envoy', rules: [{ refused: 1, firstRefusal: { line: 61 } }] });
  });

  it('prints the terminal summary table, and no progress bar when stderr is not a terminal', async () => {
    const { code, out, err } = await sluice(['simulate', ...policyArgs, '--log', tmpFile('cli61.log', log61)]);
    expect(code).toBe(0);
    expect(err).toBe('');
    expect(out).toMatch(/^61 lines \(combined\)/);
    expect(out).toMatch(/account-per-minute\s+61\s+60\s+1\s+0\s+account=acct-7 60 \/ 60\s+line 61/);
    expect(out).toMatch(/top refused keys, account-per-minute:\n\s+1\s+account=acct-7/);
  });

  it('--generate writes a deterministic sample that the seed policies refuse some of', async () => {
    const a = tmpFile('gen-a.log', '');
    const b = tmpFile('gen-b.log', '');
    expect((await sluice(['simulate', '--generate', a, '--lines', '5000', '--seed', '7'])).code).toBe(0);
    expect((await sluice(['simulate', '--generate', b, '--lines', '5000', '--seed', '7'])).code).toBe(0);
    expect(readFileSync(a, 'utf8')).toBe(readFileSync(b, 'utf8'));
    expect(readFileSync(a, 'utf8').trim().split('\n')).toHaveLength(5000);
    for (const policy of ['contact-center-ai.yaml', 'picky-assist.yaml', 'ccaas-recordings.yaml']) {
      const { code, out } = await sluice(['simulate', '--config', example(policy), '--routes', ROUTES, '--log', a, '--json']);
      expect(code).toBe(0);
      const r = JSON.parse(out);
      expect(r.unparsed).toBe(0);
      expect(r.rules.reduce((n: number, x: { refused: number; dropped: number }) => n + x.refused + x.dropped, 0)).toBeGreaterThan(0);
    }
  });

  it('--report writes one HTML file', async () => {
    const report = tmpFile('cli-report.html', '');
    const { code } = await sluice(['simulate', ...policyArgs, '--log', tmpFile('cli61b.log', log61), '--report', report, '--json']);
    expect(code).toBe(0);
    expect(existsSync(report)).toBe(true);
    expect(readFileSync(report, 'utf8')).toMatch(/^<!doctype html>[\s\S]*<svg[\s\S]*<\/html>\n$/);
  });

  it('bad input: one clear line, exit 2 (1 for a broken policy), never a stack trace', async () => {
    const cases: [string[], number, RegExp][] = [
      [['simulate', '--log', '-'], 2, /simulate needs --config/],
      [['simulate', '--config', example('smartassist.yaml')], 2, /simulate needs --log/],
      [['simulate', ...policyArgs, '--log', '/nonexistent.log'], 2, /cannot read log \/nonexistent\.log: no such file/],
      [['simulate', ...policyArgs, '--log', '-', '--format', 'xml'], 2, /--format must be one of/],
      [['simulate', ...policyArgs, '--log', '-', '--reorder', 'soon'], 2, /--reorder/],
      [['simulate', ...policyArgs, '--log', '-', '--from', 'yesterday'], 2, /--from "yesterday" is not a time/],
      [['simulate', ...policyArgs, '--log', '-', '--field', 'x'], 2, /--field "x" must be written name=path/],
      [['simulate', '--generate', '-', '--lines', '0'], 2, /--lines must be a whole number/],
      [['simulate', ...policyArgs, '--log', tmpFile('broken.gz', Buffer.from([0x1f, 0x8b, 8, 0, 9, 9, 9, 9, 9]))], 2, /broken\.gz: not a readable gzip stream/],
      [['simulate', '--config', tmpFile('broken.yaml', 'rules:\n  - name: x\n    limit: lots\n'), '--log', '-'], 1, /broken\.yaml:3:\d+: rules\[0\]\.limit/],
      [['simulate', ...policyArgs.slice(0, 2), '--routes', tmpFile('badroutes.yaml', 'routes:\n  - { path: nope, api: X }\n'), '--log', '-'], 1, /badroutes\.yaml: routes\.0\.path/],
    ];
    for (const [args, want, message] of cases) {
      const { code, err } = await sluice(args, 'hello\n');
      expect({ args, code }).toEqual({ args, code: want });
      expect(err).toMatch(message);
      expect(err).not.toMatch(/\n\s+at /);
    }
    const prose = await sluice(['simulate', ...policyArgs, '--log', '-'], 'hello\nworld\n');
    expect(prose.code).toBe(2);
    expect(prose.err).toMatch(/^sluice: cannot tell the log format/);
  }, 120_000); // a dozen CLI starts: slow on a loaded 2-core machine, never a hang
});
