// npm run bench: every benchmark, each side by side with its peers in the same run.
import { existsSync } from 'node:fs';

const parts = ['core.mjs', 'seeds.mjs', 'redis.mjs', 'client.mjs', 'service.mjs', 'grpc.mjs', 'gateway.mjs', 'pacer.mjs', 'simulate.mjs'];
const only = process.argv.slice(2);
for (const part of parts) {
  if (only.length && !only.some((o) => part.startsWith(o))) continue;
  const url = new URL(`./${part}`, import.meta.url);
  if (!existsSync(url)) continue;
  console.log(`\n# ${part}`);
  const mod = await import(url.href);
  await mod.run();
}
