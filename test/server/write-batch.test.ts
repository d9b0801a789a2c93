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

describe('WriteBatch.add with arguments', () => {
  it('calls each write with its own four arguments, in order, mixed with closures', async () => {
    const batch = new WriteBatch(() => undefined);
    const out: unknown[][] = [];
    const write = (a: number, b: string, c?: object, d?: boolean) => out.push([a, b, c, d]);
    const o = { x: 1 };
    batch.add(write, 1, 'one', o, true);
    batch.add(() => out.push(['closure']));
    batch.add(write, 2, 'two');
    batch.add(write, 3, 'three', undefined, false);
    await endOfTurn();
    expect(out).toEqual([[1, 'one', o, true], ['closure'], [2, 'two', undefined, undefined], [3, 'three', undefined, false]]);
  });

  it('the group commit runs once, before the first write of the turn', async () => {
    const order: string[] = [];
    const batch = new WriteBatch(() => undefined, () => order.push('commit'));
    batch.add((n: number) => order.push(`write ${n}`), 1);
    batch.add((n: number) => order.push(`write ${n}`), 2);
    await endOfTurn();
    expect(order).toEqual(['commit', 'write 1', 'write 2']);
  });
});
