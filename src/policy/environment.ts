import { accessSync, constants } from 'node:fs';
import type { CompiledPolicy } from './compiled.js';

/** A setting outside the policy file that the policy needs and this environment lacks. */
export interface EnvironmentIssue {
  /** Field path in the policy, e.g. subject.jwt.secret_env */
  path: string;
  message: string;
}

/**
 * What the policy asks of the environment it runs in: environment variables it names
 * (`secret_env`) and files it reads (`public_key_file`). `validate` prints these as
 * warnings (the file itself is sound); the gateway and middleware refuse to start on them.
 */
export function policyEnvironment(policy: Pick<CompiledPolicy, 'subject'>, env: NodeJS.ProcessEnv = process.env): EnvironmentIssue[] {
  const issues: EnvironmentIssue[] = [];
  const jwt = policy.subject?.jwt;
  if (jwt?.secret_env !== undefined && !env[jwt.secret_env]) {
    issues.push({ path: 'subject.jwt.secret_env', message: `environment variable ${jwt.secret_env} is not set (the JWT secret); set it before starting the gateway or middleware, e.g. ${jwt.secret_env}=$(openssl rand -hex 32)` });
  }
  if (jwt?.public_key_file !== undefined) {
    try {
      accessSync(jwt.public_key_file, constants.R_OK);
    } catch (e) {
      issues.push({ path: 'subject.jwt.public_key_file', message: `cannot read ${jwt.public_key_file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` });
    }
  }
  return issues;
}
