/**
 * One OS process pacing a shared key through a Redis store. argv: redisUrl key jobs rate burst.
 * Reports 'ready', waits for 'go', runs the jobs, reports each start time (epoch ms), exits.
 */
import { createPacer } from '../../../src/pacer/index.js';
import { openStore } from '../../../src/stores/open.js';

const [url, key, jobs, rate, burst] = process.argv.slice(2);
const store = await openStore(url, { requireConnection: true });
const pacer = createPacer({ store, rate, burst: Number(burst), name: 'two-process' });
const starts: number[] = [];
process.send!({ type: 'ready' });
process.once('message', async () => {
  const all = Array.from({ length: Number(jobs) }, () =>
    pacer.schedule(key, async () => {
      starts.push(Date.now());
    }),
  );
  await Promise.all(all);
  await pacer.stop();
  await store.close();
  process.send!({ type: 'done', starts }, () => process.exit(0));
});
