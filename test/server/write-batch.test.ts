import { describe, expect, it } from 'vitest';
import { WriteBatch } from '../../src/server/write-batch.js';

const endOfTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('WriteBatch', () => {
  it('holds writes until the end of the loop turn and runs them in order, once', async () => {
    const errors: unknown[] = [];
    const batch = new WriteBatch((e) => errors.push(e));
    const out: number[] = [];
    for (let i = 0; i < 5; i++) batch.add(() => out.push(i));
    expect(out).toEqual([]);
    await endOfTurn();
    expect(out).toEqual([0, 1, 2, 3, 4]);
    await endOfTurn();
    expect(out).toEqual([0, 1, 2, 3, 4]);
    expect(errors).toEqual([]);
  });

  it('a write that throws is reported and does not stop the others', async () => {
    const errors: unknown[] = [];
    const batch = new WriteBatch((e) => errors.push(e));
    const out: string[] = [];
    batch.add(() => out.push('a'));
    batch.add(() => {
      throw new Error('socket gone');
    });
    batch.add(() => out.push('c'));
    await endOfTurn();
    expect(out).toEqual(['a', 'c']);
    expect(errors.map((e) => (e as Error).message)).toEqual(['socket gone']);
  });

  it('a write added while flushing goes out in the next turn', async () => {
    const batch = new WriteBatch(() => undefined);
    const out: string[] = [];
    batch.add(() => {
      out.push('first');
      batch.add(() => out.push('second'));
    });
    await endOfTurn();
    expect(out).toEqual(['first']);
    await endOfTurn();
    expect(out).toEqual(['first', 'second']);
  });
});
