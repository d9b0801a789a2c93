/** `sluice pace` as a process: argv file rate. Exits with paceCommand's exit code; the result goes over IPC. */
import { paceCommand } from '../../../src/pacer/command.js';

const [file, rate] = process.argv.slice(2);
const result = await paceCommand({ file, rate });
process.send!({ type: 'result', result }, () => process.exit(result.exitCode));
