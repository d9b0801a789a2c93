import { createHash } from 'node:crypto';
import { watch, readFileSync, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Sluice } from '../engine/sluice.js';
import { loadEnvoyConfig, type EnvoyRateLimiter } from '../envoy/index.js';
import type { CompiledPolicy } from '../policy/compiled.js';
import { PolicyError, type PolicyIssue } from '../policy/errors.js';
import { loadPolicyText } from '../policy/load.js';
import type { ServerMetrics } from './metrics.js';

export type ReloadTrigger = 'api' | 'signal' | 'watch';

export type ReloadResult =
  | { ok: true; changed: boolean; source: string; rules: number; warnings?: string[] }
  | { ok: false; source: string; issues: PolicyIssue[]; message: string };

/**
 * Hot reload of the policy file. A new policy replaces the old one only when the whole
 * file is valid (loadPolicy never half-loads); a broken file is refused with its issues
 * and the old policy keeps serving. Triggered by the admin API, SIGHUP, or a change of
 * the file (fs.watch on its directory, so editors that save by rename are seen too).
 */
export class PolicyReloader {
  readonly file?: string;
  private lastDigest?: string;
  private watcher?: FSWatcher;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly deps: {
      sluice: Sluice;
      log: Logger;
      /** The service's reload counters; the gateway, which has no /metrics, leaves them out. */
      metrics?: Pick<ServerMetrics, 'reload'>;
      file?: string;
      debounceMs?: number;
      /** Envoy's ratelimit config, reloaded with the policy (both or neither). */
      envoy?: { source: string; limiter: EnvoyRateLimiter };
      /** A front door's own check of a new policy before it swaps in (the gateway compiles its `subject:`); throws PolicyError to refuse it. */
      accept?: (policy: CompiledPolicy) => void;
    },
  ) {
    this.file = deps.file === undefined ? undefined : resolve(deps.file);
  }

  /** Remembers the text the service started with, so an unchanged file is not reloaded on every touch. */
  markLoaded(text: string): void {
    this.lastDigest = digest(text);
  }

  /**
   * Reads the file and swaps the policy in. `force` reloads even when the text is
   * unchanged (the admin API and SIGHUP ask for it explicitly; the watcher does not).
   */
  reload(trigger: ReloadTrigger, who: string, force = true): ReloadResult {
    const { sluice, log, metrics } = this.deps;
    if (!this.file && this.deps.envoy) return this.reloadEnvoyOnly(trigger, who);
    if (!this.file) {
      return { ok: false, source: sluice.policy.source, issues: [{ path: '', message: 'the service was started with an inline policy, not a file; there is nothing to reload' }], message: 'no policy file to reload' };
    }
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (e) {
      return this.refuse(trigger, who, new PolicyError([{ path: '', message: `cannot read policy file: ${(e as Error).message}`, file: this.file }]));
    }
    const d = digest(text);
    if (!force && d === this.lastDigest) return { ok: true, changed: false, source: this.file, rules: sluice.policy.rules.length };
    try {
      const policy = loadPolicyText(text, this.file);
      this.deps.accept?.(policy);
      const envoy = this.deps.envoy;
      const envoyConfig = envoy ? loadEnvoyConfig(envoy.source) : undefined;
      const changes = sluice.setPolicy(policy);
      if (envoy && envoyConfig) envoy.limiter.setConfig(envoyConfig);
      this.lastDigest = d;
      metrics?.reload(true, { who, trigger, source: this.file, rules: policy.rules.length });
      // A rule that changes how it counts says so: its states were carried over, not reset.
      const warnings = changes.map((c) => c.message);
      for (const message of warnings) log.warn({ who, trigger, source: this.file }, message);
      log.info({ who, trigger, source: this.file, rules: policy.rules.length, changed: true, ...(envoy ? { envoyConfig: envoy.source } : {}) }, 'policy reloaded');
      return { ok: true, changed: true, source: this.file, rules: policy.rules.length, ...(warnings.length ? { warnings } : {}) };
    } catch (e) {
      if (e instanceof PolicyError) {
        // Remember the broken text too: the watcher should not log the same errors on every event.
        this.lastDigest = d;
        return this.refuse(trigger, who, e);
      }
      throw e;
    }
  }

  get hasEnvoy(): boolean {
    return this.deps.envoy !== undefined;
  }

  /** Watches the policy file and reloads (debounced) when it changes. */
  watch(): void {
    if (!this.file || this.watcher) return;
    const name = basename(this.file);
    try {
      this.watcher = watch(dirname(this.file), { persistent: false }, (_event, filename) => {
        if (filename !== null && filename !== name) return;
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.reload('watch', 'file-watch', false), this.deps.debounceMs ?? 150);
        this.timer.unref?.();
      });
      this.watcher.on('error', (e) => this.deps.log.warn({ err: e, file: this.file }, 'policy file watch failed; reload with SIGHUP or the admin API'));
    } catch (e) {
      this.deps.log.warn({ err: e, file: this.file }, 'cannot watch the policy file; reload with SIGHUP or the admin API');
    }
  }

  close(): void {
    clearTimeout(this.timer);
    this.watcher?.close();
    this.watcher = undefined;
  }

  private reloadEnvoyOnly(trigger: ReloadTrigger, who: string): ReloadResult {
    const envoy = this.deps.envoy!;
    try {
      envoy.limiter.setConfig(loadEnvoyConfig(envoy.source));
    } catch (e) {
      if (e instanceof PolicyError) return this.refuse(trigger, who, e);
      throw e;
    }
    this.deps.metrics?.reload(true, { who, trigger, source: envoy.source, rules: 0 });
    this.deps.log.info({ who, trigger, envoyConfig: envoy.source, changed: true }, 'envoy config reloaded');
    return { ok: true, changed: true, source: envoy.source, rules: 0 };
  }

  private refuse(trigger: ReloadTrigger, who: string, e: PolicyError): ReloadResult {
    this.deps.metrics?.reload(false, { who, trigger, source: this.file ?? this.deps.envoy?.source, message: e.message });
    this.deps.log.error({ who, trigger, source: this.file, issues: e.issues }, `policy reload refused; the previous policy keeps serving:\n${e.message}`);
    return { ok: false, source: this.file ?? this.deps.envoy?.source ?? '', issues: e.issues, message: e.message };
  }
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
