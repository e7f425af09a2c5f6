import type { AuditLog } from '../audit/index.js';
import { randomBase62 } from '../keys/index.js';
import { describeError, type Logger } from '../log/logger.js';
import type { AlertDispatcher } from './alert-dispatcher.js';
import type { MonitorMetrics } from './metrics.js';
import type { AlertRepository } from './repositories.js';
import type { AlertRecord, DetectorPolicy, Finding } from './types.js';

/** Suspends a key; the lead wires it to KeyService.suspend (the gateway then answers 403 key_suspended). */
export type SuspendKey = (keyId: string, reason: string) => Promise<void>;

export interface AlertServiceDeps {
  repo: AlertRepository;
  dispatcher: AlertDispatcher;
  now: () => number;
  logger: Logger;
  metrics?: MonitorMetrics;
  suspendKey?: SuspendKey;
  /** Security events (suspensions, probing) are written to the audit log as actor `system:monitor`. */
  audit?: Pick<AuditLog, 'append'>;
}

export type RaiseResult = { status: 'raised'; alert: AlertRecord } | { status: 'deduplicated'; alertId: string };

const ACTOR = 'system:monitor';

/**
 * Turns findings into alerts: deduplicates per (detector, subject) within the cooldown, stores the alert, applies
 * the detector's policy (notify sinks, suspend the key, or both) and records security events in the audit log.
 */
export class AlertService {
  constructor(private readonly deps: AlertServiceDeps) {}

  async raise(finding: Finding, policy: DetectorPolicy, cooldownMs: number): Promise<RaiseResult> {
    const now = this.deps.now();
    const notify = policy !== 'suspend' && this.deps.dispatcher.sinkCount > 0;
    const { repo } = this.deps;
    const insertUnlessRecent = async (): Promise<AlertRecord | { duplicateOf: string }> => {
      const recent = await repo.findRecent(finding.detector, finding.subject, now - cooldownMs);
      if (recent) {
        await repo.recordRepeat(recent.id, now);
        return { duplicateOf: recent.id };
      }
      const alert: AlertRecord = {
        ...finding,
        id: `alt_${randomBase62(16)}`,
        notified: notify,
        suspended: false,
        occurrences: 1,
        createdAt: now,
        lastSeenAt: now,
        acknowledgedAt: null,
        acknowledgedBy: null,
      };
      await repo.insert(alert);
      return alert;
    };
    // Replicas sharing a store would otherwise both miss each other's alert between the lookup and the insert.
    const outcome = repo.exclusive ? await repo.exclusive(finding.detector, finding.subject, insertUnlessRecent) : await insertUnlessRecent();
    if ('duplicateOf' in outcome) return { status: 'deduplicated', alertId: outcome.duplicateOf };
    const alert = outcome;
    this.deps.metrics?.alertRaised(finding.detector);
    if (policy !== 'alert' && finding.keyId !== null) alert.suspended = await this.suspend(alert, finding.keyId);
    if (finding.detector === 'key_probing') {
      await this.record({ action: 'security.probing_detected', target: `ip:${finding.subject}`, after: { alertId: alert.id, ...finding.details } });
    }
    if (finding.detector === 'canary_key') {
      await this.record({ action: 'security.canary_tripped', target: `key:${finding.keyId ?? finding.subject}`, after: { alertId: alert.id, ...finding.details } });
    }
    if (notify) await this.deps.dispatcher.dispatch(alert);
    return { status: 'raised', alert };
  }

  private async suspend(alert: AlertRecord, keyId: string): Promise<boolean> {
    if (!this.deps.suspendKey) {
      this.deps.logger.warn('policy asks to suspend but no suspendKey is wired', { detector: alert.detector, keyId });
      return false;
    }
    const reason = `${alert.detector}: ${alert.title}`;
    try {
      await this.deps.suspendKey(keyId, reason);
    } catch (err) {
      this.deps.logger.error('automatic suspension failed', { keyId, alertId: alert.id, ...describeError(err) });
      return false;
    }
    await this.deps.repo.setSuspended(alert.id, true);
    // The key is already stopped; a failed audit write must not undo that, so it is logged loudly instead.
    await this.record({ action: 'key.suspended', target: `key:${keyId}`, after: { reason, detector: alert.detector, alertId: alert.id } });
    return true;
  }

  private async record(entry: { action: 'key.suspended' | 'security.probing_detected' | 'security.canary_tripped'; target: string; after: object }): Promise<void> {
    if (!this.deps.audit) return;
    try {
      await this.deps.audit.append({ actor: ACTOR, ...entry });
    } catch (err) {
      this.deps.logger.error('security event could not be written to the audit log', { action: entry.action, ...describeError(err) });
    }
  }
}
