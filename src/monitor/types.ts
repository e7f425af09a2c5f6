/** Monitoring vocabulary: the security events the gateway emits, detector findings, stored alerts and deliveries. */

export type AuthFailureReason = 'invalid' | 'revoked' | 'expired' | 'missing' | 'suspended';
export type ScopeDenialReason = 'model' | 'endpoint' | 'ip';

/** Emitted by the gateway, one per rejected request, through `MonitorEngine.securityEvent` (cheap, synchronous). */
export type SecurityEvent =
  | { type: 'auth_failed'; ts: number; ip: string; reason: AuthFailureReason; keyId?: string }
  | {
      type: 'scope_denied';
      ts: number;
      keyId: string;
      ip: string;
      reason: ScopeDenialReason;
      model?: string;
      endpoint?: string;
    }
  /** A settlement above its reservation: the gateway's cost bound was wrong (charged at the truth; alerted). */
  | { type: 'cost_bound_exceeded'; ts: number; keyId: string; model: string | null; reservedUsd: number; chargedUsd: number }
  /** A canary key (honeytoken) was presented: someone holds a secret that was planted to be stolen. */
  | { type: 'canary_used'; ts: number; keyId: string; keyName: string; ip: string; userAgent: string; method: string; endpoint: string };

export const DETECTORS = [
  'volume_spike',
  'spend_spike',
  'new_model',
  'new_network',
  'key_probing',
  'scope_denials',
  'budget_threshold',
  'key_rotation_due',
  'key_unused',
  /** Raised by providers/ reconciliation: provider usage on a vaulted key beyond what keywarden forwarded. */
  'provider_usage_mismatch',
  /** A canary key was used (raised at once by the engine, never batched; see detectors/canary.ts). */
  'canary_key',
  /** Raised by providers/ GitHub webhook: a code host found a provider key in a repository (and what was done). */
  'github_secret_alert',
] as const;
export type DetectorName = (typeof DETECTORS)[number];

export type Severity = 'info' | 'warning' | 'critical';

/** `alert`: store + notify sinks. `suspend`: store + suspend the key, no notification. `both`: all of it. */
export type DetectorPolicy = 'alert' | 'suspend' | 'both';

export type DetailValue = string | number | boolean | null;

/** What a detector reports. `subject` is what alerts are deduplicated on, with the detector (a key id or an IP). */
export interface Finding {
  detector: DetectorName;
  severity: Severity;
  subject: string;
  keyId: string | null;
  title: string;
  message: string;
  details: Record<string, DetailValue>;
}

export interface AlertRecord extends Finding {
  id: string;
  /** Whether sinks were asked to deliver it. */
  notified: boolean;
  /** Whether the key was suspended because of it. */
  suspended: boolean;
  /** How many times it fired within its cooldown (1 = once). */
  occurrences: number;
  createdAt: number;
  lastSeenAt: number;
  acknowledgedAt: number | null;
  acknowledgedBy: string | null;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface DeliveryRecord {
  id: string;
  alertId: string;
  sink: string;
  status: DeliveryStatus;
  attempts: number;
  /** A safe description of the last failure (HTTP status or error code), never a URL or a secret. */
  lastError: string | null;
  createdAt: number;
  updatedAt: number;
}

/** What monitoring needs to know about a key for the hygiene detectors; VirtualKeyRecord satisfies it. */
export interface KeyInfo {
  id: string;
  name: string;
  createdAt: number;
  rotatedAt: number | null;
  revokedAt: number | null;
  expiresAt: number | null;
  suspendedAt: number | null;
}

/** One key's spend against its budget in the current budget period (built by limits/). */
export interface BudgetStatus {
  keyId: string;
  /** Shown beside the id in alert titles; optional so callers without it still work. */
  keyName?: string;
  spentUsd: number;
  budgetUsd: number;
  /** Identifies the period (e.g. `2025-06` for monthly), so each threshold fires once per period. */
  periodId: string;
  /**
   * Set for a project's shared budget: `keyId` then holds the project id (`prj_…`, the subject) and `keyName`
   * its name; the finding names the project and attaches to no key (nothing to suspend).
   */
  projectId?: string;
}
