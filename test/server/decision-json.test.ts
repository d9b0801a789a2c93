import { describe, expect, it } from 'vitest';
import { Sluice } from '../../src/engine/sluice.js';
import { MemoryStore } from '../../src/stores/memory.js';
import type { OpResult, TxOp } from '../../src/stores/store.js';
import { decisionBody, decisionJson, denialJson } from '../../src/server/decision-json.js';
import { denialBody } from '../../src/http/errors.js';
import { EXAMPLES, fakeClock } from './support.js';

/** The hot path's hand-written decision JSON must equal JSON.stringify(decision), byte for byte. */
class Failing extends MemoryStore {
  fail = false;
  override apply(ops: readonly TxOp[], now: number): OpResult[] {
    if (this.fail) throw new Error('down');
    return super.apply(ops, now);
  }
}

/** The text JSON.stringify gives, and whether it is ASCII (then written as latin1, its length its byte length). */
// eslint-disable-next-line no-control-regex
const textOf = (d: unknown) => ({ text: JSON.stringify(d), ascii: /^[\x00-\x7f]*$/.test(JSON.stringify(d)) });

describe('decisionJson matches JSON.stringify(decision)', () => {
  const shadow = `
defaults: { legacy_headers: true }
rules:
  - name: tight
    key: [account]
    limit: 2/1m
    response: { message: "Quote \\" backslash \\\\ tab \\t unicode ’ é 😀 and a line\\nbreak" }
  - name: watch
    key: [account]
    limit: 1/1m
    shadow: true
  - name: closed
    key: [account]
    limit: 100/1h
    on_store_error: closed
`;
  it.each([
    ['smartassist.yaml', [{ account: 'a', api: 'Queue Size' }, { account: 'b', api: 'nothing' }]],
    ['ccaas-recordings.yaml', [{ tenant: 'acme', api: 'Get Recording Audio' }]],
    ['picky-assist.yaml', [{ event: 'smart-reply', contact: 'c', question: 'q' }, { user: 'u', api: 'Login' }, { ip: '1.1.1.1', api: 'Signup' }]],
    ['inline', [{ account: 'x|y%z' }]],
  ])('%s', async (file, subjects) => {
    const clock = fakeClock();
    const store = new Failing();
    const sluice = await Sluice.open({ policy: file === 'inline' ? shadow : EXAMPLES + file, store, clock: clock.fn });
    let n = 0;
    for (let i = 0; i < 8; i++) {
      for (const subject of subjects) {
        store.fail = i === 7;
        const d = await sluice.check(subject, { cost: i === 3 ? 2.5 : undefined });
        expect(decisionJson(d)).toBe(JSON.stringify(d));
        expect(decisionBody(d)).toEqual(textOf(d));
        if (!d.allowed) expect(denialJson(d)).toEqual(textOf(denialBody(d)));
        const r = await sluice.record(subject, { status: 401, bytes: 1e9 });
        expect(decisionJson(r)).toBe(JSON.stringify(r));
        expect(decisionBody(r)).toEqual(textOf(r));
        n++;
      }
      clock.advance(700);
    }
    expect(n).toBeGreaterThan(0);
  });
});
