import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RedisServer, warnIfNoRedis } from '../helpers/redis-server.js';

/**
 * The stores the service's end-to-end suites run on. Each gives a fresh store spec
 * per service; Redis uses the injected clock (clock=client) so tests move time by hand,
 * and a fresh key prefix per spec so suites never see each other's keys.
 */
export interface StoreCase {
  name: string;
  spec(): Promise<string>;
  teardown(): Promise<void>;
}

let n = 0;

export function storeCases(suite: string): StoreCase[] {
  const cases: StoreCase[] = [{ name: 'memory', spec: async () => 'memory', teardown: async () => undefined }];

  let dir: string | undefined;
  cases.push({
    name: 'sqlite',
    spec: async () => {
      dir ??= mkdtempSync(join(tmpdir(), 'sluice-server-'));
      return `sqlite:${join(dir, `s${++n}.db`)}`;
    },
    teardown: async () => {
      if (dir) rmSync(dir, { recursive: true, force: true });
      dir = undefined;
    },
  });

  if (warnIfNoRedis(`${suite} on the redis store`)) {
    let server: RedisServer | undefined;
    cases.push({
      name: 'redis',
      spec: async () => {
        server ??= await RedisServer.start();
        return `${server.url}?clock=client&prefix=t${process.pid}-${++n}:`;
      },
      teardown: async () => {
        await server?.destroy();
        server = undefined;
      },
    });
  }
  return cases;
}
