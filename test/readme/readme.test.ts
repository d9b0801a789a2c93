import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEnvoyConfig } from '../../src/envoy/index.js';
import { loadPolicyText } from '../../src/policy/index.js';

/**
 * Every code block of the README runs as written, in order, as a reader on a fresh
 * checkout would paste it (the suite builds dist/ first). A block preceded by
 * `<!-- fragment … -->` (a synopsis with [options]) is skipped.
 *
 * What the harness changes, and only this:
 *  - ports: 8080–8087 and 3000–3003 become free loopback ports (the same one for the same number everywhere);
 *  - https://api.example.com and https://hooks.example.com become a local stub answering 200;
 *  - `npm install` and `npm test` are skipped (done already; this is the test), `npm start` runs
 *    with SLUICE_PORT (the port for 8080), SLUICE_HOST=127.0.0.1 and SLUICE_STORE=memory;
 * *  - `sleep N` waits until the ports of the processes started before it answer (at most 120 s);
 *  - a curl whose comment starts with a status (`# 429 …`) must answer that status, any other curl
 *    a status below 400; background processes (`&`, servers in js blocks) are stopped at the end.
 * Shell blocks share exported variables (SLUICE_ADMIN_TOKEN, SLUICE_JWT_SECRET), as one terminal would.
 * A yaml block is validated: a policy (`rules:`) by the loader, an Envoy config (`domain:`) by
 * the Envoy loader; a block starting `# policy.yaml` is written to that file.
 */

const ROOT = new URL('../..', import.meta.url).pathname;
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const WORK = join(ROOT, `.readme-run-${process.pid}`);
const PORTS = [8080, 8081, 8082, 8083, 8084, 8085, 8086, 8087, 3000, 3001, 3002, 3003];

interface Block {
  lang: string;
  code: string;
  line: number;
  fragment: boolean;
}

function blocks(markdown: string): Block[] {
  const out: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w+)\s*$/.exec(lines[i]);
    if (!open) continue;
    let j = i + 1;
    while (j < lines.length && lines[j] !== '```') j++;
    let k = i - 1;
    while (k >= 0 && lines[k].trim() === '') k--;
    out.push({ lang: open[1], code: lines.slice(i + 1, j).join('\n'), line: i + 1, fragment: k >= 0 && /^<!--\s*fragment\b/.test(lines[k]) });
    i = j;
  }
  return out;
}

const background: ChildProcess[] = [];
const portMap = new Map<number, number>();
let stubOrigin = '';

async function freePort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

function substitute(code: string): string {
  return code
    .replace(/https:\/\/(api|hooks)\.example\.com/g, stubOrigin)
    .replace(new RegExp(`\\b(${PORTS.join('|')})\\b`, 'g'), (m) => String(portMap.get(Number(m))));
}

/** The mapped ports a command or program names. */
function portsIn(code: string): number[] {
  const mapped = new Set(portMap.values());
  return [...code.matchAll(/\b(\d{4,5})\b/g)].map((m) => Number(m[1])).filter((p) => mapped.has(p));
}

const SHELL_PRELUDE = `set -u
set -m
cd "$WORK"
[ -f "$WORK/env.sh" ] && source "$WORK/env.sh"
curl() { command curl -sS --max-time 10 -D "$WORK/headers" "$@"; local rc=$?; echo; STATUS=$(awk 'toupper($1) ~ /^HTTP\\// {s=$2} END {print s}' "$WORK/headers"); return $rc; }
wait_port() { for _ in $(seq 1 600); do (echo > /dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.2; done; echo "port $1 never opened" >&2; exit 1; }
expect_status() { if [ "$STATUS" != "$1" ]; then echo "README line $2: expected status $1, got $STATUS" >&2; exit 1; fi; }
`;

/** A shell block as a script: commands (continuations joined) with the substitutions above. */
function shellScript(block: Block): string {
  const commands: { text: string; line: number; comment?: string }[] = [];
  const lines = block.code.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let text = lines[i];
    const line = block.line + 1 + i;
    while (text.endsWith('\\') && i + 1 < lines.length) text = text.slice(0, -1) + ' ' + lines[++i].trim();
    const onlyComment = /^\s*#\s*(.*)$/.exec(text);
    if (onlyComment) {
      const last = commands[commands.length - 1];
      if (last && last.comment === undefined) last.comment = onlyComment[1];
      continue;
    }
    if (text.trim() === '') continue;
    // A trailing comment (not inside quotes: README comments follow two spaces and a #).
    const c = /^(.*?)\s{2,}#\s?(.*)$/.exec(text);
    commands.push(c ? { text: c[1], line, comment: c[2] } : { text, line });
  }
  let script = SHELL_PRELUDE;
  let pending: number[] = [];
  for (const cmd of commands) {
    let text = substitute(cmd.text.trim());
    if (/^npm (install|test)\s*$/.test(text)) continue;
    if (/^sleep\s/.test(text)) {
      for (const p of pending) script += `wait_port ${p}\n`;
      pending = [];
      continue;
    }
    const bg = /&\s*$/.test(text);
    if (bg) text = text.replace(/&\s*$/, '');
    if (/^npm start\b/.test(text)) {
      text = `SLUICE_PORT=${portMap.get(8080)} SLUICE_HOST=127.0.0.1 SLUICE_STORE=memory ${text}`;
      pending.push(portMap.get(8080)!);
    }
    if (bg) {
      pending.push(...portsIn(text).filter((p) => !/--upstream\s+\S*:\d+/.test(text) || !text.includes(`:${p}`)));
      script += `${text} > "$WORK/bg-${cmd.line}.log" 2>&1 &\necho $! >> "$WORK/pids"\n`;
      continue;
    }
    script += `${text} || { echo "README line ${cmd.line} failed: ${text.replace(/["$`\\]/g, '\\$&')}" >&2; exit 1; }\n`;
    if (/^curl\b/.test(text)) {
      const status = /^(\d{3})\b/.exec(cmd.comment ?? '')?.[1];
      script += status ? `expect_status ${status} ${cmd.line}\n` : `[ "$STATUS" -lt 400 ] || { echo "README line ${cmd.line}: status $STATUS" >&2; exit 1; }\n`;
    }
  }
  for (const p of pending) script += `wait_port ${p}\n`;
  return `${script}export -p > "$WORK/env.sh"\n`;
}

function runShell(script: string): { code: number | null; out: string; err: string } {
  const r = spawnSync('bash', ['-c', script], { cwd: WORK, env: { ...process.env, WORK }, encoding: 'utf8', timeout: 150_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Starts a program that serves (it stays up until the end), and waits until its ports answer. */
async function runServer(file: string, ports: number[]): Promise<void> {
  const child = spawn('bash', ['-c', `[ -f env.sh ] && source env.sh; exec node ${file}`], { cwd: WORK, env: { ...process.env, WORK }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  background.push(child);
  let err = '';
  child.stderr!.on('data', (b) => (err += b));
  for (const port of ports) {
    const up = runShell(`${SHELL_PRELUDE}wait_port ${port}`);
    expect(up.code, `${file}: ${err}`).toBe(0);
    const r = await fetch(`http://127.0.0.1:${port}/login`, { method: 'POST' });
    expect(r.status, `${file} answered ${r.status}: ${await r.text()}`).toBeLessThan(500);
  }
  expect(child.exitCode, err).toBeNull();
}

const all = blocks(README);

describe('README code blocks run as written', () => {
  beforeAll(async () => {
    rmSync(WORK, { recursive: true, force: true });
    mkdirSync(WORK, { recursive: true });
    for (const d of ['dist', 'examples']) symlinkSync(join(ROOT, d), join(WORK, d));
    for (const p of PORTS) portMap.set(p, await freePort());
    // The stand-in for api.example.com runs in its own process: the shell blocks run synchronously here.
    const stubPort = await freePort();
    const stub = `require('http').createServer((q, s) => { q.resume(); s.writeHead(200, { 'content-type': 'application/json' }); s.end('{"ok":true}'); }).listen(${stubPort}, '127.0.0.1')`;
    background.push(spawn(process.execPath, ['-e', stub], { stdio: 'ignore', detached: true }));
    expect(runShell(`${SHELL_PRELUDE}wait_port ${stubPort}`).code).toBe(0);
    stubOrigin = `http://127.0.0.1:${stubPort}`;
  });

  afterAll(async () => {
    const pids = (() => {
      try {
        return readFileSync(join(WORK, 'pids'), 'utf8').split('\n').filter(Boolean).map(Number);
      } catch {
        return [];
      }
    })();
    for (const pid of [...pids, ...background.map((c) => c.pid!)]) {
      try {
        process.kill(-pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    await new Promise((r) => setTimeout(r, 300));
    rmSync(WORK, { recursive: true, force: true });
  });

  it('has the blocks this test knows how to run', () => {
    expect(all.filter((b) => !b.fragment && ['sh', 'yaml', 'js', 'ts'].includes(b.lang)).length).toBeGreaterThanOrEqual(15);
    for (const b of all) if (!b.fragment && /\[--/.test(b.code) && b.lang === 'sh') throw new Error(`README line ${b.line}: a synopsis with [options] must be marked <!-- fragment -->`);
  });

  for (const block of all) {
    if (block.fragment || !['sh', 'yaml', 'js', 'ts'].includes(block.lang)) continue;
    it(`line ${block.line}: ${block.lang} block`, { timeout: 180_000 }, async () => {
      if (block.lang === 'yaml') {
        const named = /^#\s*(\S+\.ya?ml)\s*$/m.exec(block.code.split('\n')[0] ?? '')?.[1];
        if (named) writeFileSync(join(WORK, named), block.code);
        const doc = parseYaml(block.code) as Record<string, unknown>;
        if ('rules' in doc) expect(loadPolicyText(block.code, `README.md:${block.line}`).rules.length).toBeGreaterThan(0);
        else if ('domain' in doc) expect(loadEnvoyConfig(block.code, { file: `README.md:${block.line}` }).domains.size).toBe(1);
        return;
      }
      if (block.lang === 'sh') {
        const r = runShell(shellScript(block));
        expect(r.code, `README line ${block.line}\n${r.err}\n${r.out}`).toBe(0);
        return;
      }
      const file = `block-${block.line}.mjs`;
      const code = substitute(block.code);
      writeFileSync(join(WORK, file), code);
      const serves = /\.listen\(|startGateway\(|serve\(\{/.test(code);
      if (serves) return runServer(file, portsIn(code).filter((p) => p !== portMap.get(3000) || !code.includes('upstream')));
      const r = runShell(`${SHELL_PRELUDE}node ${file}`);
      expect(r.code, `README line ${block.line}\n${r.err}\n${r.out}`).toBe(0);
      expect(r.err).not.toMatch(/Error/);
    });
  }

  it('the Envoy proxy example points its ratelimit filter at the domain and Sluice gRPC cluster it documents', () => {
    const bootstrap = parseYaml(readFileSync(join(ROOT, 'examples/envoy/proxy/envoy.yaml'), 'utf8'));
    const text = JSON.stringify(bootstrap);
    expect(text).toContain('"envoy.filters.http.ratelimit"');
    expect(text).toContain('"domain":"messaging"');
    expect(text).toContain('"cluster_name":"sluice_ratelimit"');
    expect([...loadEnvoyConfig(join(ROOT, 'examples/envoy/config.yaml')).domains.keys()]).toEqual(['messaging']);
    const request = JSON.parse(readFileSync(join(ROOT, 'examples/envoy/request.json'), 'utf8'));
    expect(request.domain).toBe('messaging');
  });
});
