import { compileSubject } from '../http/subject.js';
import { subjectConfigOf } from '../middleware/core.js';
import type { CompiledPolicy } from '../policy/compiled.js';
import { ConfigError, PolicyError } from '../policy/errors.js';

/**
 * What the gateway asks of a policy before a reload (SIGHUP, the admin API) swaps it in, beyond
 * the file being valid: its `subject:` section must compile here, as at startup. Without this
 * check a reloaded policy whose secret_env is unset would be taken, and every request after it
 * answered 500 while the old rules no longer applied; with it, the reload is refused with the
 * reason and the old policy keeps serving.
 */
export function checkGatewayPolicy(policy: CompiledPolicy): void {
  try {
    compileSubject(subjectConfigOf(policy), policy.routes);
  } catch (e) {
    if (e instanceof ConfigError) throw new PolicyError([{ path: '', message: e.message, file: policy.source }]);
    throw e;
  }
}
