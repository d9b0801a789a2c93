import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadWithRoutes } from '../../src/simulate/routes-overlay.js';
import { simulate } from '../../src/simulate/simulate.js';
import { calls, example, logFile, ROUTES, T0, tmpFile } from './support/lines.js';

/** contact-center-ai.yaml with one more override: acct-b may make 120 calls a minute. */
function raisedForOneTenant(): string {
  const text = readFileSync(example('contact-center-ai.yaml'), 'utf8');
  return tmpFile('raised.yaml', `${text}\n  - rule: account-per-minute\n    key: { account: acct-b }\n    limit: 120/1m\n    reason: trial of a raised limit\n`);
}

describe('--compare', () => {
  it('a limit raised for one tenant: exactly its refusals disappear, nobody else changes', async () => {
    // acct-a, acct-b and acct-c each make 70 calls within a minute, interleaved.
    const reqs = [...calls(70, 'acct-a', 800), ...calls(70, 'acct-b', 800, T0 + 100), ...calls(70, 'acct-c', 800, T0 + 200)].sort((x, y) => x.atMs - y.atMs);
    const log = logFile('compare.log', reqs);
    const baseline = loadWithRoutes(example('contact-center-ai.yaml'), ROUTES);
    const candidate = loadWithRoutes(raisedForOneTenant(), ROUTES);
    const r = await simulate({ policy: baseline, compare: candidate, log });

    expect(r.rules[0]).toMatchObject({ refused: 30 });
    expect(r.rules[0].topKeys.map((k) => [k.key.account, k.refused]).sort()).toEqual([
      ['acct-a', 10],
      ['acct-b', 10],
      ['acct-c', 10],
    ]);
    const c = r.compare!;
    expect(c).toMatchObject({ newlyRefused: 0, newlyAdmitted: 10 });
    expect(c.rules).toEqual([{ rule: 'account-per-minute', newlyRefused: 0, newlyAdmitted: 10, topKeys: [{ key: { account: 'acct-b' }, newlyRefused: 0, newlyAdmitted: 10 }] }]);
    expect(c.run.rules[0]).toMatchObject({ refused: 20 });
    expect(c.run.rules[0].topKeys.map((k) => k.key.account).sort()).toEqual(['acct-a', 'acct-c']);
  });

  it('a policy compared with itself changes nothing', async () => {
    const p = loadWithRoutes(example('contact-center-ai.yaml'), ROUTES);
    const r = await simulate({ policy: p, compare: loadWithRoutes(example('contact-center-ai.yaml'), ROUTES), log: logFile('self.log', calls(90, 'x', 100)) });
    expect(r.compare).toMatchObject({ newlyRefused: 0, newlyAdmitted: 0, rules: [] });
    expect(r.rules[0].refused).toBe(30);
  });

  it('a tighter candidate: newly refused lines are counted under the candidate’s rule', async () => {
    const tight = tmpFile('tight.yaml', readFileSync(example('contact-center-ai.yaml'), 'utf8').replace('limit: 60/1m', 'limit: 50/1m'));
    const r = await simulate({ policy: loadWithRoutes(example('contact-center-ai.yaml'), ROUTES), compare: loadWithRoutes(tight, ROUTES), log: logFile('tight.log', calls(60, 'x', 500)) });
    expect(r.compare).toMatchObject({ newlyRefused: 10, newlyAdmitted: 0 });
  });
});
