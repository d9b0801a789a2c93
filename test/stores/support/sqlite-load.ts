/**
 * Child process for the kill -9 test: opens Sluice on a SQLite file with the picky-assist
 * and ccaas policies, locks a user out, sets an override and an attribute, then records
 * egress bytes in a loop, telling the parent (IPC) how many bytes are committed so far.
 */
import { Sluice } from '../../../src/engine/sluice.js';
import { stateKeyFor } from '../../../src/engine/keys.js';
import { SqliteStore } from '../../../src/stores/sqlite.js';

const [dbPath, examples] = process.argv.slice(2);
const store = new SqliteStore(dbPath);
const picky = await Sluice.open({ policy: `${examples}picky-assist.yaml`, store });
const ccaas = await Sluice.open({ policy: `${examples}ccaas-recordings.yaml`, store });

const mallory = { api: 'Login', user: 'mallory' };
for (let i = 0; i < 4; i++) await picky.record(mallory, { status: 401 });
const blocked = await picky.check(mallory);
const signup = picky.policy.ruleByName.get('signup-per-ip')!;
await store.setOverride({ key: stateKeyFor(signup, { ip: '198.51.100.1' }), rule: signup.name, keyValues: { ip: '198.51.100.1' }, limit: 7, windowMs: 3600_000 });
await store.setAttributes('tenant:smallco', { licensed_agents: 3 });
for (let i = 0; i < 2; i++) await picky.check({ api: 'Signup', ip: '198.51.100.2' });
process.send!({ type: 'setup', blocked: !blocked.allowed });

const tenant = { api: 'Get Recording Audio', tenant: 'smallco' };
const CHUNK = 1_000_000;
let committed = 0;
for (let i = 0; i < 1_000_000; i++) {
  await ccaas.record(tenant, { status: 200, bytes: CHUNK }); // synchronous commit in SQLite
  committed += CHUNK;
  if (i % 50 === 0) process.send!({ type: 'progress', committed });
  if (i % 200 === 0) await new Promise((r) => setImmediate(r));
}
