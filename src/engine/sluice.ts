import { loadPolicy, type PolicySource } from '../policy/load.js';
import type { CompiledPolicy, CompiledRule, Outcome, Subject } from '../policy/compiled.js';
import type { Params } from '../algorithms/index.js';
import { BLOCKED, FORCE, inPlaceTakes, IO_CELLS, PEEK, REMAINING, RESET_MS, RETRY_AFTER_MS, stepTakes, TAKE, type InPlaceMode } from '../algorithms/in-place.js';
import { RuleIndex } from '../policy/rule-index.js';
import { ADMITTED, IN_PLACE_OPS, UNABLE, type InPlaceRule, type InPlaceStore } from '../stores/in-place-store.js';
import { MemoryStore } from '../stores/memory.js';
import type { OpResult, StateRewrite, Store, TxOp } from '../stores/store.js';
import { scaledParams } from '../stores/transaction.js';
import { CircuitBreaker, SKIP, type BreakerOptions, type Gate } from './breaker.js';
import { Decision, type DecisionSource, type StoreFailure } from './decision.js';
import { checkedCost, rejectBadCost } from './cost.js';
import { Fallback } from './fallback.js';
import { blockKeyOf, blockLocalId, localId, stateKey } from './keys.js';
import { RefusedCache, type RefusedCacheOptions } from './refused-cache.js';
import { RuleOp } from './rule-op.js';
import { emptyPolicy } from './outside-rules.js';
import { sluiceClock, type Clock } from './clock.js';
import { carryState, ruleChanges, type RuleChange } from './carry-over.js';
import { CarryParams, rewriteAsync } from './carry-params.js';
import { KeyGaps, SkipCounts, type KeyGap, type MissingKeyMode, type SkippedRule } from './key-gaps.js';

export type { Clock } from './clock.js';

/** One rule's view of a subject, from Sluice.peek. */
export interface RulePeek {
  rule: CompiledRule;
  key: string;
  usage: OpResult;
  /** The block penalty's state, for rules that have one. */
  block?: OpResult;
  /** An override from the policy file sets this key's limit. */
  policyOverride: boolean;
  /** Usage is above the limit (a byte quota crossed by the download that finished over it). */
  over: boolean;
}

export interface SluiceOptions {
  /** A policy file path, YAML/JSON text, a policy object, or an already compiled policy. */
  policy: PolicySource | CompiledPolicy;
  /**
   * A Store, or a spec string as `openStore` and the CLI's `--store` take: 'memory' (default),
   * 'sqlite:./data/sluice.db', 'redis://…', 'rediss://…', 'redis+sentinel://…', 'redis+cluster://…'.
   */
  store?: string | Store;
  /** Milliseconds since the epoch; inject one in tests. Default: a monotonic clock anchored to the epoch once (./clock.ts). */
  clock?: Clock;
  /** Bound on keys for the memory store and the fallback limiter. */
  maxKeys?: number;
  /** Called when the store fails and rules fall back (for logs and metrics; see FailureLog for logs). */
  onStoreError?: (error: unknown) => void;
  /** The store's circuit breaker (consecutive failures before decisions skip the store, probe interval). */
  breaker?: BreakerOptions;
  /**
   * Answer checks refused until a known time from a local cache until then, without a store
   * round trip (see refused-cache.ts). Default: on for stores that are not synchronous (Redis);
   * `false` turns it off; an object sizes it.
   */
  refusedCache?: boolean | RefusedCacheOptions;
}

export interface CheckOptions {
  /** Units this request costs under rules that count requests (default: the rule's cost). */
  cost?: number;
  /** For rules without `on_missing_key`: what to do when the subject lacks a key attribute (default skip; the gateway and middleware pass reject). */
  onMissingKey?: Exclude<MissingKeyMode, 'shared'>;
}

/** The one decision core that every front door (library, middleware, service, envoy, gateway) calls. */
export class Sluice {
  private policyValue: CompiledPolicy;
  private policyOverrides = new Map<string, { limit: number; windowMs: number; expiresAt?: number }>();
  /** Which rules a subject may match, by its attributes' values. */
  private ruleIndex!: RuleIndex;
  /** Per policy rule, a one-rule array: what matching returns when only that rule matches. */
  private loneRules: (readonly [CompiledRule])[] = [];
  /** Per policy rule with overrides in the file: key id (localId) → the override's expiry and parameters. */
  private policyOverrideIds: (Map<string, { expiresAt?: number; params: Params }> | undefined)[] = [];
  /** Per policy rule, how a store decides it in place (undefined: its algorithm or mode needs the general path). */
  private inPlace: (InPlaceRule | undefined)[] = [];
  /** What every check decided in place under the current policy is read from, besides its figures. */
  // Stryker disable next-line BooleanLiteral,ObjectLiteral: a placeholder: indexPolicy (in the constructor) sets it before any decision
  private inPlaceSource: DecisionSource = { legacyHeaders: false };
  /** What a decision over no rule is read from. */
  // Stryker disable next-line BooleanLiteral,ObjectLiteral,ArrayDeclaration: a placeholder: indexPolicy (in the constructor) sets it before any decision
  private noResults: DecisionSource & { results: readonly OpResult[] } = { legacyHeaders: false, results: [] };
  /** The in-place takes' figures. */
  private readonly io = new Float64Array(IO_CELLS);
  /** Per op of a check decided in place over several rules, its figures (and whether it admits, at ALLOWED). */
  private readonly ios = Array.from({ length: IN_PLACE_OPS }, () => new Float64Array(IO_CELLS + 1));
  readonly store: Store;
  /** The store as given (the refused cache may wrap it): its in-place capability is read from it at each decision. */
  private readonly own: Store;
  private readonly clock: Clock;
  private readonly fallback: Fallback;
  /** Opens after consecutive store failures: decisions then skip the store until a probe succeeds. */
  readonly breaker: CircuitBreaker;
  /** While a reload's states are carried over in an asynchronous store (Redis): decisions wait for it. */
  private carrying: Promise<void> | undefined;
  private readonly onStoreError?: (error: unknown) => void;
  /** Store failures and fallbacks, for metrics; shortCircuited: decisions that skipped the store (breaker open). */
  readonly counters = { storeErrors: 0, fallbackDecisions: 0, closedDecisions: 0, shortCircuited: 0 };
  /** Checks that skipped a rule for a missing key attribute, or matched no rule (sluice_skipped_checks_total). */
  readonly skips = new SkipCounts();
  private gaps!: KeyGaps;

  private constructor(policy: CompiledPolicy, store: Store, opts: SluiceOptions) {
    this.policyValue = policy;
    const cache = opts.refusedCache ?? !store.synchronous;
    // Stryker disable next-line ConditionalExpression,BooleanLiteral: `cache === true ? {} :` (true or false) sizes the cache by its defaults either way (`true.maxEntries` is undefined); `cache ?` is tested
    this.store = cache ? new RefusedCache(store, cache === true ? {} : cache) : store;
    this.own = store;
    this.clock = opts.clock ?? sluiceClock;
    this.fallback = new Fallback(opts.maxKeys ?? 100_000, () => store.liveInstances?.() ?? 1);
    this.breaker = new CircuitBreaker(this.clock, opts.breaker);
    this.onStoreError = opts.onStoreError;
    this.indexPolicy(policy);
  }

  static async open(opts: SluiceOptions): Promise<Sluice> {
    const policy = isCompiled(opts.policy) ? opts.policy : loadPolicy(opts.policy);
    // Loaded only for a spec string: ioredis and better-sqlite3 cost every in-process user
    // start-up time, and loading ioredis alone slowed a simulate replay by ~20% CPU (measured).
    const store = typeof opts.store === 'string' ? await (await import('../stores/open.js')).openStore(opts.store, { maxKeys: opts.maxKeys }) : (opts.store ?? new MemoryStore({ maxKeys: opts.maxKeys }));
    return new Sluice(policy, store, opts);
  }

  /** Synchronous construction, for the memory store or a store already open (no I/O to wait for). */
  static openSync(opts: Omit<SluiceOptions, 'store'> & { store?: 'memory' | Store }): Sluice {
    const policy = isCompiled(opts.policy) ? opts.policy : loadPolicy(opts.policy);
    const store = typeof opts.store === 'object' ? opts.store : new MemoryStore({ maxKeys: opts.maxKeys });
    return new Sluice(policy, store, opts);
  }

  /** Synchronous construction over a store already open, for a front door with rules of its own (Envoy: ./outside-rules.ts). */
  static over(store: Store, opts: Omit<SluiceOptions, 'store' | 'policy'> & { policy?: CompiledPolicy } = {}): Sluice {
    const policy = opts.policy ?? emptyPolicy('<none: rules outside the policy>');
    return new Sluice(policy, store, { ...opts, policy });
  }

  /** Decides ops for rules compiled outside the policy, atomically, with the policy's fallback, breaker and refused cache (./outside-rules.ts). */
  decideOutside(rules: readonly CompiledRule[], ops: TxOp[]): Promise<Decision> {
    return this.run(rules, ops);
  }

  get policy(): CompiledPolicy {
    return this.policyValue;
  }

  /**
   * Swaps in a new policy; counters of rules that keep their name and key carry on. A rule whose
   * algorithm or parameters change has its states carried over first (./carry-over.ts), in
   * stores that can list them; the changes are returned, for the reload log.
   */
  setPolicy(policy: CompiledPolicy): RuleChange[] {
    const before = this.policyValue;
    const changes = ruleChanges(before, policy);
    const now = this.clock();
    const pending: Promise<number>[] = [];
    for (const c of changes) {
      // Each key is carried over with its own limit (override, scale), as the engine decides it.
      const params = new CarryParams(c, { policy: before, rule: before.ruleByName.get(c.rule)! }, { policy, rule: policy.ruleByName.get(c.rule)! }, now);
      const rewrite: StateRewrite = (state, key, lookup) => carryState(c, state, now, params.of(key, lookup));
      // A store that rewrites synchronously is rewritten as it is (the refused cache is cleared below).
      for (const store of [this.own, this.fallback.local] as Store[]) {
        // The fallback's states with the limits the store gave their keys (its run-time overrides), not the local store's none.
        if (store.rewriteStates) store.rewriteStates(c.rule, store === this.own ? rewrite : (state, key) => rewrite(state, key, this.fallback.limits));
        // Stryker disable next-line ConditionalExpression: `store === this.own` → true is equivalent: the other store, the fallback's, is a MemoryStore, which always has rewriteStates (the whole condition's `true` is tested)
        else if (store === this.own && this.store.rewriteStatesAsync) pending.push(rewriteAsync(this.store, c, params, now));
      }
    }
    // Stryker disable next-line ConditionalExpression: waiting on an empty Promise.all is only slower (by a turn), never different
    if (pending.length) {
      // Decisions wait until the states are carried over, so none reads a state in the old shape.
      const carrying: Promise<void> = Promise.all(pending).then(
        () => {
          if (this.carrying === carrying) this.carrying = undefined;
        },
        (e: unknown) => {
          if (this.carrying === carrying) this.carrying = undefined;
          this.onStoreError?.(e);
        },
      );
      this.carrying = carrying;
    }
    this.policyValue = policy;
    if (this.store instanceof RefusedCache) this.store.clear();
    this.indexPolicy(policy);
    return changes;
  }

  now(): number {
    return this.clock();
  }

  /** Decides a request before the work is done. Rules that count requests are charged if admitted. */
  check(subject: Subject, opts?: CheckOptions): Promise<Decision> {
    const badCost = rejectBadCost(opts?.cost, 'check');
    if (badCost) return badCost;
    if (this.carrying) return this.carrying.then(() => this.check(subject, opts));
    // Stryker disable next-line ConditionalExpression: `true` is equivalent (a guard that only speeds up: fill returns the subject itself when no rule is shared); `false` is tested (test/mutants/engine-a-shared.test.ts)
    if (this.gaps.shared) subject = this.gaps.fill(subject);
    const rules = this.matching(subject);
    const gap = this.gaps.scan(subject, rules, this.skips, this.policyValue.legacyHeaders, opts?.onMissingKey);
    if (gap !== undefined) return gap.refusal ? Promise.resolve(withSkipped(gap.refusal, gap)) : this.decideMatched(rules, subject, opts).then((d) => withSkipped(d, gap));
    return this.decideMatched(rules, subject, opts);
  }

  private decideMatched(rules: readonly CompiledRule[], subject: Subject, opts?: CheckOptions): Promise<Decision> {
    const d = this.decideInPlace(rules, subject, opts?.cost);
    return d !== undefined ? Promise.resolve(d) : this.run(rules, this.checkOps(rules, subject, opts?.cost));
  }

  /**
   * The same as check, synchronously; only for stores that answer synchronously (memory,
   * SQLite). On a store that commits in groups the decision is durable only once the store
   * is flushed (the service does so before writing the turn's answers).
   */
  checkSync(subject: Subject, opts?: CheckOptions): Decision {
    checkedCost(opts?.cost, 'checkSync');
    // Stryker disable next-line ConditionalExpression: `true` is equivalent (a guard that only speeds up: fill returns the subject itself when no rule is shared); `false` is tested (test/mutants/engine-a-shared.test.ts)
    if (this.gaps.shared) subject = this.gaps.fill(subject);
    const rules = this.matching(subject);
    const gap = this.gaps.scan(subject, rules, this.skips, this.policyValue.legacyHeaders, opts?.onMissingKey);
    if (gap !== undefined) return withSkipped(gap.refusal ?? this.decideMatchedSync(rules, subject, opts), gap);
    return this.decideMatchedSync(rules, subject, opts);
  }

  private decideMatchedSync(rules: readonly CompiledRule[], subject: Subject, opts?: CheckOptions): Decision {
    const d = this.decideInPlace(rules, subject, opts?.cost);
    if (d !== undefined) return d;
    if (rules.length === 0) return Decision.of(rules, { legacyHeaders: this.policyValue.legacyHeaders, results: [] });
    return this.decideOutsideSync(rules, this.checkOps(rules, subject, opts?.cost));
  }

  /** decideOutside, synchronously: only for stores that answer synchronously (Envoy's doors on memory or SQLite). */
  decideOutsideSync(rules: readonly CompiledRule[], ops: TxOp[]): Decision {
    const now = this.clock();
    const gate = this.breaker.gate();
    if (gate === SKIP) return this.degraded(rules, ops, now, undefined);
    let results: OpResult[] | Promise<OpResult[]>;
    try {
      results = this.store.apply(ops, now);
    } catch (e) {
      return this.degraded(rules, ops, now, e, gate);
    }
    if (results instanceof Promise) throw new TypeError(`checkSync needs a synchronous store; ${this.store.name} is asynchronous: use check()`);
    this.breaker.success(gate);
    return Decision.of(rules, { legacyHeaders: this.policyValue.legacyHeaders, results });
  }

  /**
   * Records what happened after the work: failures, chosen statuses and bytes sent are
   * charged to the rules that count them (a count past the limit trips the rule's block),
   * and concurrency leases taken by check are released.
   */
  record(subject: Subject, outcome: Outcome): Promise<Decision> {
    if (this.carrying) return this.carrying.then(() => this.record(subject, outcome));
    // Stryker disable next-line ConditionalExpression: `true` is equivalent (a guard that only speeds up: fill returns the subject itself when no rule is shared); `false` is tested (test/mutants/engine-a-shared.test.ts)
    if (this.gaps.shared) subject = this.gaps.fill(subject);
    const matched = this.matching(subject);
    // Stryker disable next-line ConditionalExpression,BlockStatement: `false` and `{}` are equivalent (a fast path: the loop below decides a lone rule's record the same, on the general path); `true` is killed by the records over several rules
    if (matched.length === 1) {
      const d = this.recordInPlace(matched[0], subject, outcome);
      if (d !== undefined) return Promise.resolve(d);
    }
    const rules: CompiledRule[] = [];
    const ops: TxOp[] = [];
    for (const rule of matched) {
      if (rule.algorithm === 'concurrency') {
        rules.push(rule);
        ops.push(this.op(rule, subject, 1, 'refund'));
        continue;
      }
      if (rule.phase !== 'outcome' || !rule.counts(outcome)) continue;
      const cost = rule.cost.kind === 'bytes' ? outcome.bytes ?? 0 : costOf(rule, subject);
      if (!(cost > 0)) continue;
      // The common case: one rule counts the outcome (seed 003's bytes, beside its request-counting rule): decided in place.
      if (
        // Stryker disable next-line ConditionalExpression,EqualityOperator: a guard that only saves a retry: a lone rule's record reaches here only after recordInPlace found it undecidable in place, and inPlaceOp finds the same
        matched.length > 1 &&
        rules.length === 0 &&
        !hasCounted(matched, rule, outcome)
        // Stryker disable next-line BlockStatement: the fast path emptied: the rule's record is decided on the general path instead, the same
      ) {
        const d = this.inPlaceOp(rule, subject, cost, FORCE);
        if (d !== undefined) return Promise.resolve(d);
      }
      rules.push(rule);
      ops.push(this.op(rule, subject, cost, 'force'));
    }
    return this.run(rules, ops);
  }

  /** Releases what a check charged, e.g. when the work was never done. */
  refund(subject: Subject, opts?: CheckOptions): Promise<Decision> {
    const badCost = rejectBadCost(opts?.cost, 'refund');
    if (badCost) return badCost;
    if (this.carrying) return this.carrying.then(() => this.refund(subject, opts));
    // Stryker disable next-line ConditionalExpression: `true` is equivalent (a guard that only speeds up: fill returns the subject itself when no rule is shared); `false` is tested (test/mutants/engine-a-shared.test.ts)
    if (this.gaps.shared) subject = this.gaps.fill(subject);
    const rules: CompiledRule[] = [];
    const ops: TxOp[] = [];
    for (const rule of this.policyValue.rules) {
      if (rule.phase !== 'request' || !rule.matches(subject)) continue;
      rules.push(rule);
      ops.push(this.op(rule, subject, opts?.cost ?? costOf(rule, subject), 'refund'));
    }
    return this.run(rules, ops);
  }

  /** The state keys a subject has under each rule it matches (for admin inspect and reset). */
  keysFor(subject: Subject): { rule: string; key: string; blockKey?: string }[] {
    // Stryker disable next-line ConditionalExpression: `true` is equivalent (a guard that only speeds up: fill returns the subject itself when no rule is shared); `false` is tested (test/mutants/engine-a-shared.test.ts)
    if (this.gaps.shared) subject = this.gaps.fill(subject);
    return this.policyValue.rules
      .filter((r) => r.matches(subject))
      .map((r) => ({ rule: r.name, key: stateKey(r, subject), ...(r.blockMs > 0 ? { blockKey: blockKeyOf(r, subject) } : {}) }));
  }

  /**
   * How every rule the subject matches sees it now, charging nothing and tripping no
   * penalty (admin inspect): per rule, its state key, its usage, whether an override from
   * the policy file applies, and, for rules with a block, the block's state.
   */
  async peek(subject: Subject): Promise<RulePeek[]> {
    // Stryker disable next-line ConditionalExpression: `true` awaits undefined when nothing is carried over: a turn later, the same
    if (this.carrying) await this.carrying;
    // Stryker disable next-line ConditionalExpression: `true` is equivalent (a guard that only speeds up: fill returns the subject itself when no rule is shared); `false` is tested (test/mutants/engine-a-shared.test.ts)
    if (this.gaps.shared) subject = this.gaps.fill(subject);
    const rules = this.matching(subject);
    const ops: RuleOp[] = rules.map((rule) => {
      const op = this.op(rule, subject, 1, 'peek');
      op.blockKey = undefined; // a peek that would not fit must not trip the penalty
      return op;
    });
    const blockAt: (number | undefined)[] = rules.map((rule) => {
      if (rule.blockMs === 0) return undefined;
      // Stryker disable next-line StringLiteral: a block-only op is decided as a peek whatever its mode (stores/transaction.ts)
      const op = this.op(rule, subject, 1, 'peek');
      op.blockOnly = true; // reads the block, never trips it
      return ops.push(op) - 1;
    });
    // A zero-cost peek fits unless usage is already above the limit: how a crossed byte quota shows.
    const overAt: (number | undefined)[] = rules.map((rule) => {
      if (rule.cost.kind !== 'bytes') return undefined;
      const op = this.op(rule, subject, 0, 'peek');
      op.blockKey = undefined;
      return ops.push(op) - 1;
    });
    const results = rules.length ? await this.store.apply(ops, this.clock()) : [];
    return rules.map((rule, i) => ({
      over: overAt[i] !== undefined && !results[overAt[i]!].allowed,
      rule,
      key: ops[i].key,
      usage: results[i],
      block: blockAt[i] === undefined ? undefined : results[blockAt[i]!],
      policyOverride: ops[i].override !== undefined,
    }));
  }

  /** The rules that do not apply to a subject, and why: no match, or a missing key attribute (admin inspect, `sluice check`). */
  skipped(subject: Subject): SkippedRule[] {
    // Stryker disable next-line ConditionalExpression: equivalent both ways: "" is no present value, so a filled subject matches and misses the same rules (explain never reports a shared rule)
    if (this.gaps.shared) subject = this.gaps.fill(subject);
    return this.gaps.explain(subject, this.matching(subject));
  }

  async close(): Promise<void> {
    await this.store.close();
    await this.fallback.close();
  }

  // ---- internals ----

  /** The rules a subject matches, in policy order; a lone match (the common case) comes in a shared array. */
  private matching(subject: Subject): readonly CompiledRule[] {
    const all = this.ruleIndex.candidates(subject);
    let first = -1;
    let many: CompiledRule[] | undefined;
    for (let i = 0; i < all.length; i++) {
      if (!all[i].matches(subject)) continue;
      if (many) many.push(all[i]);
      else if (first < 0) first = i;
      else many = [all[first], all[i]];
    }
    return many ?? (first < 0 ? NO_RULES : this.loneRules[all[first].index]);
  }

  /**
   * A check decided in the store's own state (its in-place capability, Store.inPlace)
   * without building ops or a transaction: one rule, or several at once; undefined when a
   * rule, a cost, a key's state or the store needs the general path.
   */
  private decideInPlace(rules: readonly CompiledRule[], subject: Subject, cost: number | undefined): Decision | undefined {
    if (rules.length === 1) {
      const rule = rules[0];
      // A shadow rule never binds and a rule that charges refusals writes on a refusal: the transaction's way decides them.
      if (rule.shadow || rule.chargeRejected) return this.decideAllInPlace(rules, subject, cost);
      // Outcome rules are charged by record(); a check asks whether one more would fit, or only whether the key is blocked.
      if (rule.phase === 'outcome') return this.inPlaceOp(rule, subject, 1, PEEK);
      return this.inPlaceOp(rule, subject, cost ?? costOf(rule, subject), TAKE);
    }
    return rules.length > 1 ? this.decideAllInPlace(rules, subject, cost) : undefined;
  }

  /**
   * A check that matched several rules (up to four), or one in shadow mode or charging
   * refusals, decided in the store as one transaction, as runGeneralTransaction decides
   * it: every rule is decided first, then, if every rule outside shadow mode admits, every
   * rule that counts requests and admitted is charged, or none is (except those that charge
   * refusals: charged anyway); a refusal outside shadow mode trips its rule's block.
   * Undefined when a rule, a cost, a key's state or the store's room needs the general path
   * (nothing is written before that is known).
   */
  private decideAllInPlace(rules: readonly CompiledRule[], subject: Subject, cost: number | undefined): Decision | undefined {
    const store = this.own.inPlace;
    if (store === undefined || !store.roomInPlace(rules.length)) return undefined;
    for (let k = 0; k < rules.length; k++) if (this.inPlace[rules[k].index] === undefined) return undefined;
    const now = this.clock();
    const ios = this.ios;
    let admitted = true;
    for (let k = 0; k < rules.length; k++) {
      const rule = rules[k];
      const outcome = rule.phase === 'outcome';
      const units = outcome ? 1 : cost ?? costOf(rule, subject);
      if (!(units > 0)) return undefined;
      const id = localId(rule, subject);
      const inPlace = this.inPlace[rule.index]!;
      const mode = outcome ? PEEK : TAKE;
      const p = this.paramsInPlace(rule, subject, id, now, store);
      const verdict = store.evaluateInPlace(k, inPlace, id, units, p, now, ios[k], mode, inPlace.block === undefined ? '' : blockLocalId(rule, subject));
      if (verdict === UNABLE) return undefined;
      const io = ios[k];
      // A check of an outcome rule with a block asks only whether the key is blocked.
      const allowed = verdict === ADMITTED || (mode === PEEK && inPlace.block !== undefined && io[BLOCKED] === 0);
      io[ALLOWED] = allowed ? 1 : 0;
      if (!allowed && !rule.shadow) admitted = false;
    }
    // A refused transaction charges a refusal as a forced step: the log's in-place take has one, the fixed-size ones do not.
    if (!admitted) for (let k = 0; k < rules.length; k++) if (chargesRefusal(rules[k], ios[k]) && !store.forcesInPlace(k)) return undefined;
    const results: OpResult[] = new Array(rules.length);
    for (let k = 0; k < rules.length; k++) {
      const rule = rules[k];
      const io = ios[k];
      const allowed = io[ALLOWED] === 1;
      const trips = !allowed && !rule.shadow && this.inPlace[rule.index]!.block !== undefined && io[BLOCKED] === 0;
      const charge = rule.phase === 'request' && (admitted ? allowed : rule.chargeRejected && io[BLOCKED] === 0);
      store.settleInPlace(k, charge, trips, now, io);
      const p = store.txParams[k];
      results[k] = { allowed, blocked: io[BLOCKED] === 1, limit: p.limit, windowMs: p.windowMs, remaining: io[REMAINING], resetMs: io[RESET_MS], retryAfterMs: allowed ? 0 : io[RETRY_AFTER_MS] };
    }
    return Decision.of(rules, { legacyHeaders: this.policyValue.legacyHeaders, results });
  }

  /**
   * A rule's parameters for a key decided in place, as effectiveParams makes them for the
   * op this.op() would build: a custom limit from the policy file, else the limit scaled by
   * the entity's attribute (the store's, the file's, the subject's, the default). A run-time
   * override in the store wins over both; the store applies it.
   */
  private paramsInPlace(rule: CompiledRule, subject: Subject, id: string, now: number, store: InPlaceStore): Params {
    const custom = this.policyOverrideIds[rule.index]?.get(id);
    if (custom !== undefined && (custom.expiresAt === undefined || custom.expiresAt > now)) return custom.params;
    const scale = rule.scale;
    if (scale === undefined) return rule.params;
    const s = this.scaleOf(scale, subject);
    return scaledParams(rule.params, store.attribute(s.entity, s.attribute) ?? s.fallback);
  }

  /** Whose attribute scales a rule for this subject, and the factor when the store holds none: the policy file's, the subject's, else the default. */
  private scaleOf(scale: NonNullable<CompiledRule['scale']>, subject: Subject): NonNullable<TxOp['scale']> {
    const entity = `${scale.of}:${subject[scale.of]}`;
    const fromSubject = Number(subject[scale.attribute]);
    return { entity, attribute: scale.attribute, fallback: this.policyValue.attributes.get(entity)?.[scale.attribute] ?? (fromSubject > 0 ? fromSubject : scale.default) };
  }

  /** A record that matched this rule alone, decided in place (undefined: the general path). */
  private recordInPlace(rule: CompiledRule, subject: Subject, outcome: Outcome): Decision | undefined {
    if (rule.algorithm === 'concurrency') return undefined; // its lease is released on the general path
    const counted = rule.phase === 'outcome' && rule.counts(outcome);
    const cost = !counted ? 0 : rule.cost.kind === 'bytes' ? outcome.bytes ?? 0 : costOf(rule, subject);
    if (!(cost > 0)) return Decision.of(NO_RULES, this.noResults);
    return this.inPlaceOp(rule, subject, cost, FORCE);
  }

  /**
   * One rule's op decided in the store without building an op or a transaction, as the op
   * the general path would build (checkOp, record's op) is decided; undefined when the
   * rule, the cost, the key's state or the store needs the general path.
   */
  private inPlaceOp(rule: CompiledRule, subject: Subject, units: number, mode: InPlaceMode): Decision | undefined {
    const inPlace = this.inPlace[rule.index];
    // A lone decision binds its rule: a shadow rule's never does (decideAllInPlace decides a check of one; its records take the general path).
    if (inPlace === undefined || !(units > 0) || rule.shadow) return undefined;
    const store = this.own.inPlace;
    if (store === undefined) return undefined;
    const io = this.io;
    const id = localId(rule, subject);
    const now = this.clock();
    const block = inPlace.block;
    const verdict = store.takeInPlace(inPlace, id, units, this.paramsInPlace(rule, subject, id, now, store), now, io, mode, block === undefined ? '' : blockLocalId(rule, subject));
    if (verdict === UNABLE) return undefined;
    const blocked = io[BLOCKED] === 1;
    // A check of an outcome rule with a block asks only whether the key is blocked.
    const allowed = verdict === ADMITTED || (mode === PEEK && block !== undefined && !blocked);
    return Decision.lone(this.loneRules[rule.index], this.inPlaceSource, allowed, io[REMAINING], io[RESET_MS], io[RETRY_AFTER_MS], store.inPlaceParams, blocked);
  }

  /** The ops a check makes for the rules it matched, in the same order. */
  private checkOps(rules: readonly CompiledRule[], subject: Subject, cost: number | undefined): RuleOp[] {
    const ops: RuleOp[] = new Array(rules.length);
    for (let i = 0; i < rules.length; i++) ops[i] = this.checkOp(rules[i], subject, cost);
    return ops;
  }

  private checkOp(rule: CompiledRule, subject: Subject, cost: number | undefined): RuleOp {
    if (rule.phase === 'request') return this.op(rule, subject, cost ?? costOf(rule, subject), 'take');
    // Outcome rules are charged by record(); a check asks whether one more would fit,
    // or, for rules with a block penalty, only whether the key is blocked.
    const op = this.op(rule, subject, 1, 'peek');
    op.blockOnly = rule.blockMs > 0;
    return op;
  }

  private op(rule: CompiledRule, subject: Subject, cost: number, mode: TxOp['mode']): RuleOp {
    const op = new RuleOp(rule, localId(rule, subject), cost, mode);
    if (rule.blockMs > 0) op.blockKey = blockKeyOf(rule, subject);
    if (this.policyOverrides.size) {
      const o = this.policyOverrides.get(op.key);
      if (o && (o.expiresAt === undefined || o.expiresAt > this.clock())) op.override = o;
    }
    if (rule.scale) op.scale = this.scaleOf(rule.scale, subject);
    return op;
  }

  private run(rules: readonly CompiledRule[], ops: TxOp[]): Promise<Decision> {
    const legacyHeaders = this.policyValue.legacyHeaders;
    if (ops.length === 0) return Promise.resolve(Decision.of(rules, { legacyHeaders, results: [] }));
    const now = this.clock();
    const gate = this.breaker.gate();
    if (gate === SKIP) return Promise.resolve(this.degraded(rules, ops, now, undefined));
    let pending: OpResult[] | Promise<OpResult[]>;
    try {
      pending = this.store.apply(ops, now);
    } catch (e) {
      return Promise.resolve(this.degraded(rules, ops, now, e, gate));
    }
    if (!(pending instanceof Promise)) {
      this.breaker.success(gate);
      const decision = Decision.of(rules, { legacyHeaders, results: pending });
      // A store that commits in groups (SQLite): answer once the decision is durable.
      const durable = this.store.whenDurable?.();
      return durable === undefined ? Promise.resolve(decision) : durable.then(() => decision, (e) => this.degraded(rules, ops, now, e, gate));
    }
    return pending.then(
      (results) => {
        this.breaker.success(gate);
        this.fallback.remember(ops, results, now);
        return Decision.of(rules, { legacyHeaders, results });
      },
      (e) => this.degraded(rules, ops, now, e, gate),
    );
  }

  /**
   * The store failed (or the breaker is open: no error): rules that fail open are decided
   * by the local limiter with this instance's share of their limits (./fallback.ts); rules
   * that fail closed refuse with 503.
   */
  private degraded(rules: readonly CompiledRule[], ops: TxOp[], now: number, error: unknown, gate?: Gate): Decision {
    if (gate === undefined) this.counters.shortCircuited++;
    else {
      this.breaker.failure(gate);
      this.counters.storeErrors++;
      this.onStoreError?.(error);
    }
    const handling = rules.map((r) => r.onStoreError);
    const openOps = ops.filter((_, i) => handling[i] === 'open');
    const local = openOps.length ? this.fallback.apply(openOps, now) : [];
    let j = 0;
    const results: OpResult[] = ops.map((op, i) => {
      if (handling[i] === 'open') {
        this.counters.fallbackDecisions++;
        return local[j++];
      }
      this.counters.closedDecisions++;
      return { allowed: false, blocked: false, limit: op.params.limit, windowMs: op.params.windowMs, remaining: 0, resetMs: 0, retryAfterMs: 1000 };
    });
    const failure: StoreFailure = { message: `Rate-limit store unavailable (${this.store.name}); refusing rules that fail closed.`, handling, error, shortCircuited: gate === undefined };
    return Decision.of(rules, { legacyHeaders: this.policyValue.legacyHeaders, results, failure });
  }

  private indexPolicy(policy: CompiledPolicy): void {
    this.ruleIndex = new RuleIndex(policy.rules);
    this.gaps = new KeyGaps(policy, this.ruleIndex);
    this.inPlaceSource = { legacyHeaders: policy.legacyHeaders };
    this.loneRules = policy.rules.map((rule) => [rule]);
    this.policyOverrides = new Map();
    this.policyOverrideIds = [];
    for (const o of policy.overrides) {
      const rule = policy.ruleByName.get(o.rule);
      if (!rule) continue;
      this.policyOverrides.set(stateKey(rule, o.key), o);
      const ids = (this.policyOverrideIds[rule.index] ??= new Map());
      ids.set(localId(rule, o.key), { expiresAt: o.expiresAt, params: { ...rule.params, limit: o.limit, windowMs: o.windowMs, burst: undefined } });
    }
    // In place: a rule decided with its limit (its own, a key's override, or scaled), its cost and its block.
    this.inPlace = policy.rules.map((rule) => {
      const take = inPlaceTakes[rule.algorithm];
      const step = stepTakes[rule.algorithm];
      if (take === undefined || step === undefined) return undefined;
      return { ns: rule.name, take, step, params: rule.params, block: rule.blockMs > 0 ? { ns: `${rule.name}!b`, ms: rule.blockMs } : undefined };
    });
    this.noResults = { legacyHeaders: policy.legacyHeaders, results: [] };
  }
}

const NO_RULES: readonly CompiledRule[] = [];

function withSkipped(d: Decision, gap: KeyGap): Decision {
  d.skippedFrom = gap.skipped;
  return d;
}
/** The cell after the io cells where a check over several rules notes whether each admits. */
const ALLOWED = IO_CELLS;

/** Whether a refused transaction charges this rule's op, decided in place as `io` holds it, although the op refused (a rule that charges refusals; a block served charges nothing). */
function chargesRefusal(rule: CompiledRule, io: Float64Array): boolean {
  return rule.chargeRejected && rule.phase === 'request' && io[ALLOWED] === 0 && io[BLOCKED] === 0;
}

/** Whether a rule after `rule` in `matched` has a part in a record of this outcome (counts it, or releases a lease). */
function hasCounted(matched: readonly CompiledRule[], rule: CompiledRule, outcome: Outcome): boolean {
  for (let i = matched.indexOf(rule) + 1; i < matched.length; i++) {
    const r = matched[i];
    if (r.algorithm === 'concurrency' || (r.phase === 'outcome' && r.counts(outcome))) return true;
  }
  return false;
}

function costOf(rule: CompiledRule, subject: Subject): number {
  if (rule.cost.kind === 'fixed') return rule.cost.units;
  if (rule.cost.kind === 'attribute') {
    const n = Number(subject[rule.cost.name]);
    return Number.isFinite(n) && n > 0 ? n : 1;
  }
  return 1;
}

function isCompiled(p: SluiceOptions['policy']): p is CompiledPolicy {
  return typeof p === 'object' && p !== null && 'ruleByName' in p && p.ruleByName instanceof Map;
}
