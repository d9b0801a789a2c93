import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { algorithms, type AlgorithmName, type Params, type StepMode } from '../../src/algorithms/index.js';

interface Vector {
  name: string;
  algorithm: AlgorithmName;
  params: Params;
  calls: { now: number; cost: number; mode: StepMode; expect: Record<string, unknown> }[];
}

const vectors: Vector[] = JSON.parse(readFileSync(new URL('../vectors/algorithms.json', import.meta.url), 'utf8'));

describe('shared test vectors (the truth the Lua twins are checked against)', () => {
  it('cover every algorithm', () => {
    expect(new Set(vectors.map((v) => v.algorithm))).toEqual(new Set(Object.keys(algorithms)));
  });
  for (const v of vectors) {
    it(v.name, () => {
      let state: number[] | null = null;
      for (const call of v.calls) {
        const r = algorithms[v.algorithm].step(state, call.now, call.cost, v.params, call.mode);
        expect({ at: call.now, ...r }).toEqual({ at: call.now, ...call.expect });
        // As a store keeps it: when charged, or clamped from a state stamped ahead of now.
        const ahead = state !== null && algorithms[v.algorithm].ahead(state, call.now, v.params);
        if ((call.mode !== 'peek' && (call.mode !== 'take' || r.allowed)) || ahead) state = r.state;
      }
    });
  }
});
