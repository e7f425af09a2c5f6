import type { AuditLog } from '../audit/index.js';
import type { LeaderLease } from '../cluster/leader-lease.js';
import { asKeywardenError } from '../errors/index.js';
import { describeError, type Logger } from '../log/logger.js';
import type { AlertService } from '../monitor/alert-service.js';
import type { Store } from '../store/index.js';
import type { Vault } from '../vault/index.js';
import type { ProvidersConfig } from './config.js';
import { findVaulted, listOrganisationKeys } from './openai/inventory.js';
import type { UpstreamUsageComparison } from './openai/reconcile.js';
import { compareUsageByKey, type VaultedProviderKeyById } from './openai/reconcile-per-key.js';
import type { ProviderConnection } from './provider-connection.js';
import { loadVaultedKeys } from './vaulted-keys.js';

export interface ReconcileDeps {
  store: Store;
  vault: Vault;
  connection: ProviderConnection;
  audit: AuditLog;
  /** The monitor's alert service (null when monitoring is off: mismatches are then logged and audited only). */
  alerts: AlertService | null;
  logger: Logger;
  now: () => number;
  config: ProvidersConfig['reconcile'];
  /** With `onMismatch: rotate`: rotates the upstream at the provider (providers/rotation/); a failure is reported. */
  rotate?: (upstreamId: string) => Promise<string>;
  /** Replicas: only the lease holder runs the timed pass (absent: this process always does). */
  leader?: Pick<LeaderLease, 'isLeader'>;
}

export interface ReconcileReport {
  object: 'reconciliation';
  window: { start: string; end: string };
  upstreams: UpstreamUsageComparison[];
  alerts: string[];
}

/**
 * Usage reconciliation, on its own timer (started with the server, stopped on close). Each run compares a window
 * that ended `reportingDelayMs` ago, so the provider's late reporting does not look like a leak.
 */
export class ReconcileJob {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<ReconcileReport | null> | null = null;

  constructor(private readonly deps: ReconcileDeps) {}

  start(): void {
    if (!this.deps.config.enabled || this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.deps.config.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => null);
  }

  /** One pass; overlapping calls share the pass in flight. */
  runOnce(): Promise<ReconcileReport | null> {
    this.running ??= this.pass().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async tick(): Promise<void> {
    try {
      if ((this.deps.leader?.isLeader ?? true) && (await this.deps.connection.isConnected())) await this.runOnce();
    } catch (err) {
      this.deps.logger.warn('provider usage reconciliation failed', { code: asKeywardenError(err).code, ...describeError(err) });
    }
  }

  private async pass(): Promise<ReconcileReport> {
    const { config } = this.deps;
    const client = await this.deps.connection.client();
    const endMs = Math.floor((this.deps.now() - config.reportingDelayMs) / 1000) * 1000;
    const startMs = endMs - config.windowMs;
    const [{ keys }, vaultedSecrets] = await Promise.all([listOrganisationKeys(client), loadVaultedKeys(this.deps.store, this.deps.vault)]);
    const vaulted: VaultedProviderKeyById[] = [];
    for (const { key } of keys) {
      const match = findVaulted(key, vaultedSecrets);
      if (match) vaulted.push({ providerKeyId: key.id, redactedValue: key.redacted_value, upstreamId: match.upstreamId, upstreamName: match.upstreamName, keyId: match.keyId });
    }
    const report: ReconcileReport = {
      object: 'reconciliation',
      window: { start: new Date(startMs).toISOString(), end: new Date(endMs).toISOString() },
      upstreams: [],
      alerts: [],
    };
    if (vaulted.length === 0) return report;
    const providerUsage = await client.completionsUsageByKey({ startTime: startMs / 1000, endTime: endMs / 1000 });
    report.upstreams = compareUsageByKey(vaulted, providerUsage, await this.deps.store.usage.list({ since: startMs, until: endMs }), config);
    for (const row of report.upstreams.filter((r) => r.mismatch)) {
      const alertId = await this.raise(row, report.window);
      if (alertId) report.alerts.push(alertId);
    }
    return report;
  }

  private async rotateNow(upstreamId: string): Promise<string> {
    if (!this.deps.rotate) return 'requested: rotate this upstream key now';
    try {
      return await this.deps.rotate(upstreamId);
    } catch (err) {
      return `rotation failed (${asKeywardenError(err).message}); rotate it by hand`;
    }
  }

  private async raise(row: UpstreamUsageComparison, window: ReconcileReport['window']): Promise<string | null> {
    const keysText = row.providerKeys.map((k) => `${k.redacted_value} (${k.id})`).join(', ');
    const rotate = this.deps.config.onMismatch === 'rotate';
    // The leaked key stops working once the rotation deletes it; the alert says whether that happened.
    const rotation = rotate ? await this.rotateNow(row.upstreamId) : null;
    const details = {
      upstream_id: row.upstreamId,
      upstream: row.upstreamName,
      upstream_key_id: row.upstreamKeyId ?? null,
      provider_keys: row.providerKeys.map((k) => k.id).join(','),
      provider_tokens: row.provider.tokens,
      keywarden_tokens: row.keywarden.tokens,
      provider_requests: row.provider.requests,
      keywarden_requests: row.keywarden.requests,
      window_start: window.start,
      window_end: window.end,
      rotation: rotation ?? 'not requested by policy',
    };
    await this.deps.audit.append({ actor: 'system:reconcile', action: 'security.provider_usage_mismatch', target: `upstream:${row.upstreamId}`, after: details });
    this.deps.logger.warn('provider usage beyond what keywarden forwarded', details);
    if (!this.deps.alerts) return null;
    const result = await this.deps.alerts.raise(
      {
        detector: 'provider_usage_mismatch',
        severity: 'critical',
        // Per key when compared per key: a second leaked key of the same upstream is its own alert.
        subject: row.upstreamKeyId ? `upstream:${row.upstreamId}:key:${row.upstreamKeyId}` : `upstream:${row.upstreamId}`,
        keyId: null,
        title: `Upstream key ${keysText} used outside keywarden`,
        message:
          `OpenAI reports ${row.provider.tokens} tokens / ${row.provider.requests} requests on upstream "${row.upstreamName}" (${keysText}) ` +
          `between ${window.start} and ${window.end}; keywarden forwarded ${row.keywarden.tokens} tokens / ${row.keywarden.requests} requests. ` +
          `The real key is likely leaked: ${rotation ? `policy rotate: ${rotation}` : 'rotate it and revoke the old one at OpenAI'}.`,
        details,
      },
      'alert',
      this.deps.config.cooldownMs,
    );
    return result.status === 'raised' ? result.alert.id : result.alertId;
  }
}
