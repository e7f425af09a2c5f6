import type { AuditLog } from '../audit/index.js';
import { SOLE_LEADER, type LeaderLease } from '../cluster/leader-lease.js';
import { describeError, type Logger } from '../log/logger.js';
import type { UsageRecord } from '../store/index.js';
import { AlertDispatcher } from './alert-dispatcher.js';
import { logAlert } from './alert-log.js';
import { AlertService, type SuspendKey } from './alert-service.js';
import { realSleep, systemClock, type Clock, type Sleep } from './clock.js';
import type { MonitorConfig } from './config.js';
import { budgetFindings, costBoundFinding } from './detectors/budget.js';
import { canaryFinding } from './detectors/canary.js';
import { probingFindings, scopeDenialFindings } from './detectors/denials.js';
import { firstUseFindings } from './detectors/first-use.js';
import { hygieneFindings } from './detectors/key-hygiene.js';
import { SpikeBaselines, spikeFindings } from './detectors/spike.js';
import type { MonitorMetrics } from './metrics.js';
import type { AlertRepository, RollupRepository, SeenRepository } from './repositories.js';
import { SecurityWindow } from './security-window.js';
import type { AlertSink } from './sinks/types.js';
import type { AlertRecord, BudgetStatus, DetectorName, DetectorPolicy, Finding, KeyInfo, SecurityEvent } from './types.js';
import { UsageIntake } from './usage-intake.js';

const MINUTE = 60_000;
const PRUNE_EVERY_MS = 3_600_000;
const clip = (text: string): string => (text.length > 100 ? `${text.slice(0, 100)}…` : text);

export interface MonitorRepositories {
  rollups: RollupRepository;
  alerts: AlertRepository;
  seen: SeenRepository;
}

export interface MonitorEngineDeps {
  config: MonitorConfig;
  repos: MonitorRepositories;
  sinks: readonly AlertSink[];
  logger: Logger;
  clock?: Clock;
  /** Backoff sleeps between delivery attempts; tests pass one that returns at once. */
  sleep?: Sleep;
  metrics?: MonitorMetrics;
  /** Wire to KeyService.suspend. The engine writes the audit entry for it (actor `system:monitor`). */
  suspendKey?: SuspendKey;
  audit?: Pick<AuditLog, 'append'> & Partial<Pick<AuditLog, 'anchor'>>;
  /** For the rotation and unused-key detectors (e.g. `() => store.keys.list()`). */
  listKeys?: () => Promise<readonly KeyInfo[]>;
  /** Current spend against budget per key, from limits/; polled each evaluation. */
  budgets?: () => Promise<readonly BudgetStatus[]>;
  /**
   * Replicas on one store: only the lease holder runs the store-wide detectors (budgets, key hygiene), retention and
   * alert delivery. Every replica still writes its own rollups and raises what only its own traffic shows (spikes,
   * probing, scope denials, first use, canaries), deduplicated across replicas by the alert repository. The engine
   * starts and stops the lease. Default: the sole process, always the leader.
   */
  leader?: LeaderLease;
}

export interface TickReport {
  findings: Finding[];
  raised: AlertRecord[];
  deduplicated: number;
}

/**
 * Monitoring, off the hot path. The gateway calls only `securityEvent` (a couple of map updates) per rejected
 * request; usage arrives in batches after each usage flush through `ingestUsage`. Everything else happens in
 * `tick`, every `evaluationIntervalMs` on the injected clock: rollups are written, detectors run, alerts raised.
 */
export class MonitorEngine {
  readonly dispatcher: AlertDispatcher;
  readonly alerts: AlertService;
  private readonly intake = new UsageIntake();
  private readonly probing = new SecurityWindow();
  private readonly scope = new SecurityWindow();
  private readonly probingReasons: ReadonlySet<string>;
  private readonly scopeEnabled: boolean;
  private readonly volumeBaselines: SpikeBaselines;
  private readonly spendBaselines: SpikeBaselines;
  private readonly clock: Clock;
  private lastTickAt: number;
  private lastHygieneAt = Number.NEGATIVE_INFINITY;
  private lastPruneAt = Number.NEGATIVE_INFINITY;
  private ticking: Promise<TickReport> | null = null;
  /** Cost-bound violations reported since the last tick (bounded: one per key is enough to alert). */
  private readonly boundViolations = new Map<string, Finding>();
  private stopTimer: (() => void) | null = null;
  /** Canary alerts are raised one after another (so deduplication sees the previous one), bounded in number. */
  private canaryQueue: Promise<void> = Promise.resolve();
  private canaryPending = 0;

  constructor(private readonly deps: MonitorEngineDeps) {
    const { config } = deps;
    this.clock = deps.clock ?? systemClock;
    this.lastTickAt = this.clock.now();
    // Disabled detectors gather nothing, so their windows cannot grow without being read.
    const probing = config.enabled && config.detectors.probing.enabled;
    this.probingReasons = new Set(probing ? config.detectors.probing.reasons : []);
    this.scopeEnabled = config.enabled && config.detectors.scopeDenials.enabled;
    this.volumeBaselines = new SpikeBaselines(deps.repos.rollups, config.detectors.volumeSpike);
    this.spendBaselines = new SpikeBaselines(deps.repos.rollups, config.detectors.spendSpike);
    const now = () => this.clock.now();
    this.dispatcher = new AlertDispatcher({
      repo: deps.repos.alerts,
      sinks: deps.sinks,
      policy: config.delivery,
      sleep: deps.sleep ?? realSleep,
      now,
      logger: deps.logger,
      metrics: deps.metrics,
      auditHead: deps.audit?.anchor ? () => deps.audit?.anchor?.() ?? Promise.resolve(null) : undefined,
      deliverHere: () => this.leader.isLeader,
    });
    this.alerts = new AlertService({
      repo: deps.repos.alerts,
      dispatcher: this.dispatcher,
      now,
      logger: deps.logger,
      metrics: deps.metrics,
      suspendKey: deps.suspendKey,
      audit: deps.audit,
    });
  }

  /**
   * Wire to UsageRecorder's `onFlushed`. Synchronous and cheap: records are only aggregated here. It never throws:
   * the recorder treats an exception from `onFlushed` as a failed flush and would hand the same batch over again.
   */
  ingestUsage(records: readonly UsageRecord[]): void {
    for (const record of records) {
      try {
        if (this.deps.config.enabled) this.intake.add(record);
        this.deps.metrics?.observeUsage(record);
      } catch (err) {
        this.deps.logger.error('usage record could not be observed', { keyId: record.keyId, ...describeError(err) });
      }
    }
  }

  /** Called by the gateway for each request refused at authentication or by a key's scope. */
  securityEvent(event: SecurityEvent): void {
    if (event.type === 'canary_used') {
      this.raiseCanary(event);
      return;
    }
    if (event.type === 'cost_bound_exceeded') {
      if (this.deps.config.enabled && this.boundViolations.size < 10_000) this.boundViolations.set(event.keyId, costBoundFinding(event));
      return;
    }
    if (event.type === 'auth_failed') {
      this.deps.metrics?.observeAuthFailure(event.reason);
      if (!this.probingReasons.has(event.reason)) return;
      const notes = event.keyId === undefined ? [`reason:${event.reason}`] : [`reason:${event.reason}`, `key:${event.keyId}`];
      if (!this.probing.add(clip(event.ip), event.ts, notes)) this.deps.metrics?.securityEventsDropped(1);
      return;
    }
    if (!this.scopeEnabled) return;
    // Denied model names and paths are whatever the client sent: clip them before they can reach an alert.
    const notes = [`reason:${event.reason}`, `ip:${clip(event.ip)}`];
    if (event.model !== undefined) notes.push(`model:${clip(event.model)}`);
    if (event.endpoint !== undefined) notes.push(`endpoint:${clip(event.endpoint)}`);
    if (!this.scope.add(event.keyId, event.ts, notes)) this.deps.metrics?.securityEventsDropped(1);
  }

  /**
   * A canary trip is raised at once rather than at the next tick: it is proof of a theft, not a statistic. The
   * gateway's call stays synchronous; the raise is queued. Beyond 1,000 queued raises (a flood from one intruder
   * is deduplicated into the first alert anyway) further ones are counted as dropped.
   */
  private raiseCanary(event: Extract<SecurityEvent, { type: 'canary_used' }>): void {
    if (this.canaryPending >= 1_000) {
      this.deps.metrics?.securityEventsDropped(1);
      return;
    }
    this.canaryPending++;
    const finding = canaryFinding(event);
    this.canaryQueue = this.canaryQueue
      .then(() =>
        this.step('canary_key', async () => {
          const { policy, cooldownMs } = this.policyOf('canary_key');
          const result = await this.alerts.raise(finding, policy, cooldownMs);
          if (result.status === 'raised' && this.dispatcher.sinkCount === 0) logAlert(this.deps.logger, result.alert);
        }),
      )
      .finally(() => {
        this.canaryPending--;
      });
  }

  /** Resolves once every canary alert queued so far is stored (tests, shutdown). */
  canaryAlertsSettled(): Promise<void> {
    return this.canaryQueue;
  }

  /** Evaluates once. Concurrent calls share the evaluation in progress. */
  tick(): Promise<TickReport> {
    this.ticking ??= this.evaluate().finally(() => {
      this.ticking = null;
    });
    return this.ticking;
  }

  private get leader(): LeaderLease {
    return this.deps.leader ?? SOLE_LEADER;
  }

  /** Takes part in the leader election, resumes deliveries left pending (as leader), then evaluates on the interval. */
  async start(): Promise<void> {
    if (!this.deps.config.enabled || this.stopTimer) return;
    await this.leader.start();
    if (this.leader.isLeader) await this.dispatcher.resume();
    this.stopTimer = this.clock.every(this.deps.config.evaluationIntervalMs, async () => {
      try {
        await this.tick();
      } catch (err) {
        this.deps.logger.error('monitor evaluation failed', describeError(err));
      }
    });
  }

  /** Stops the interval, writes what was gathered, and interrupts delivery retries (resumed on the next start). */
  async stop(): Promise<void> {
    this.stopTimer?.();
    this.stopTimer = null;
    if (this.deps.config.enabled) await this.tick();
    await this.dispatcher.close();
    await this.leader.stop();
  }

  private async evaluate(): Promise<TickReport> {
    const { config, repos } = this.deps;
    const detectors = config.detectors;
    const now = this.clock.now();
    const windowMinutes = Math.max(1, (now - this.lastTickAt) / MINUTE);
    this.lastTickAt = now;
    const batch = this.intake.drain();
    const findings: Finding[] = [];

    await this.step('rollups', async () => {
      try {
        await repos.rollups.apply(batch.deltas);
      } catch (err) {
        this.intake.restore({ deltas: batch.deltas, seen: [] });
        throw err;
      }
    });
    await this.step('first use', async () => {
      try {
        findings.push(...firstUseFindings(await repos.seen.observe(batch.seen), detectors));
      } catch (err) {
        this.intake.restore({ deltas: [], seen: batch.seen });
        throw err;
      }
    });
    if (detectors.volumeSpike.enabled) {
      await this.step('volume spike', async () => {
        findings.push(...(await spikeFindings(batch.window, windowMinutes, now, 'requests', detectors.volumeSpike, this.volumeBaselines)));
      });
    }
    if (detectors.spendSpike.enabled) {
      await this.step('spend spike', async () => {
        findings.push(...(await spikeFindings(batch.window, windowMinutes, now, 'cost', detectors.spendSpike, this.spendBaselines)));
      });
    }
    if (detectors.probing.enabled) findings.push(...probingFindings(this.probing.totals(now, detectors.probing.windowMs), detectors.probing));
    if (detectors.scopeDenials.enabled) {
      findings.push(...scopeDenialFindings(this.scope.totals(now, detectors.scopeDenials.windowMs), detectors.scopeDenials));
    }
    findings.push(...this.boundViolations.values());
    this.boundViolations.clear();
    // Store-wide work, once for the deployment: the lease holder only (re-checked here, each evaluation).
    const leader = this.leader.isLeader;
    const budgets = this.deps.budgets;
    if (leader && detectors.budget.enabled && budgets) {
      await this.step('budget', async () => {
        findings.push(...budgetFindings(await budgets(), detectors.budget.thresholds, batch.budgetRefused));
      });
    }
    const listKeys = this.deps.listKeys;
    if (leader && listKeys && now - this.lastHygieneAt >= detectors.hygieneIntervalMs) {
      this.lastHygieneAt = now;
      await this.step('key hygiene', async () => {
        const input = { keys: await listKeys(), lastUsed: await repos.seen.lastUsed(), epoch: await repos.seen.epoch(), now };
        findings.push(...hygieneFindings(input, detectors));
      });
    }

    const report: TickReport = { findings, raised: [], deduplicated: 0 };
    for (const finding of findings) {
      await this.step(finding.detector, async () => {
        const { policy, cooldownMs } = this.policyOf(finding.detector);
        const result = await this.alerts.raise(finding, policy, cooldownMs);
        if (result.status === 'raised') {
          report.raised.push(result.alert);
          if (this.dispatcher.sinkCount === 0) logAlert(this.deps.logger, result.alert);
        } else report.deduplicated++;
      });
    }
    if (leader && this.dispatcher.sinkCount > 0) {
      // Deliveries recorded by replicas that are not the leader (and any a previous leader left unfinished).
      await this.step('deliveries', async () => {
        await this.dispatcher.resume();
      });
    }
    if (leader && now - this.lastPruneAt >= PRUNE_EVERY_MS) {
      this.lastPruneAt = now;
      await this.step('prune', async () => {
        await repos.rollups.prune('minute', now - config.retention.minuteMs);
        await repos.rollups.prune('hour', now - config.retention.hourMs);
      });
    }
    return report;
  }

  private policyOf(detector: DetectorName): { policy: DetectorPolicy; cooldownMs: number } {
    const d = this.deps.config.detectors;
    const section = {
      volume_spike: d.volumeSpike,
      spend_spike: d.spendSpike,
      new_model: d.newModel,
      new_network: d.newNetwork,
      key_probing: d.probing,
      scope_denials: d.scopeDenials,
      budget_threshold: d.budget,
      key_rotation_due: d.rotation,
      key_unused: d.unused,
      // Raised by providers/ reconciliation, which passes its own policy; never produced by the engine's detectors.
      provider_usage_mismatch: { policy: 'alert' as const, cooldownMs: undefined },
      // Alert only: suspending a canary would change its answer and tell the intruder it was a trap.
      canary_key: { policy: 'alert' as const, cooldownMs: undefined },
      // Raised by the GitHub webhook receiver (providers/github/alert-webhook.ts) with its own policy.
      github_secret_alert: { policy: 'alert' as const, cooldownMs: undefined },
    }[detector];
    return { policy: section.policy, cooldownMs: section.cooldownMs ?? this.deps.config.cooldownMs };
  }

  /** One failing step (a detector, a write) is logged and does not stop the others. */
  private async step(name: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.deps.logger.error('monitor step failed', { step: name, ...describeError(err) });
    }
  }
}
