import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * What a newcomer trying the README's commands trips over, through the built CLI: each mistake
 * is one line that names the flag (or file) and what it takes, exit 2, no stack trace.
 */

const CLI = new URL('../../dist/cli.js', import.meta.url).pathname;
const EXAMPLES = new URL('../../examples/', import.meta.url).pathname;
const GATEWAY_POLICY = `${EXAMPLES}gateway/recordings-gateway.yaml`;

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, SLUICE_UPSTREAM: '', SLUICE_ADMIN_TOKEN: '' } });
  return { code: r.status, err: r.stderr.trim(), out: r.stdout };
}

describe.runIf(existsSync(CLI))('CLI mistakes a newcomer makes', () => {
  it.each([
    ['a gateway upstream that is not a URL', ['gateway', '--config', GATEWAY_POLICY, '--upstream', 'localhost:3000'], /^sluice: --upstream \(or SLUICE_UPSTREAM\) must be an http:\/\/ or https:\/\/ URL such as http:\/\/127\.0\.0\.1:3000 \(got "localhost:3000"\)$/],
    ['a gateway upstream that is not http(s)', ['gateway', '--config', GATEWAY_POLICY, '--upstream', 'ftp://127.0.0.1'], /^sluice: --upstream .* \(got "ftp:\/\/127\.0\.0\.1"\)$/],
    ['an upstream timeout that is no duration', ['gateway', '--config', GATEWAY_POLICY, '--upstream', 'http://127.0.0.1:9', '--upstream-timeout', 'abc'], /^sluice: --upstream-timeout: "abc" is not a duration/],
    ['an upstream timeout of 0 (which would turn it off)', ['gateway', '--config', GATEWAY_POLICY, '--upstream', 'http://127.0.0.1:9', '--upstream-timeout', '0s'], /^sluice: --upstream-timeout must be longer than 0 \(got "0s"\)$/],
    ['an unknown log level', ['serve', '--config', `${EXAMPLES}ccaas-recordings.yaml`, '--store', 'memory', '--log-level', 'loud'], /--log-level <level>' argument 'loud' is invalid\. Allowed choices are fatal, error, warn, info, debug, trace, silent\./],
    ['a directory given to check', ['check', EXAMPLES, 'x=y'], /^sluice: .*examples\/ is a directory; check takes one policy file \(YAML or JSON\)$/],
    ['an Envoy config given to check', ['check', `${EXAMPLES}envoy/config.yaml`, 'x=y'], /^sluice: .*config\.yaml is an Envoy ratelimit config; check decides Sluice policies\. Serve it with: sluice serve --envoy-config /],
  ])('%s', (_name, args, message) => {
    const r = cli(...args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err).not.toMatch(/^\s+at /m);
    expect(r.err).not.toMatch(/TypeError|Invalid URL|custom levels|unknown field "domain"/);
  });
});

if (!existsSync(CLI)) console.warn('\n!! SKIPPED: CLI newcomer tests — dist/cli.js is missing; run `npm run build` (npm test does)\n');
