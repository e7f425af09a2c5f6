/**
 * Audit log records and the AuditRepository interface. The chain logic (hashing, verification) lives in audit/;
 * a repository only stores entries, so a PostgreSQL implementation needs no hashing code of its own.
 */

import type { AnchorSnapshot, SignedAnchor } from './anchor.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** Every kind of entry the log knows. Admin actions, then security events raised by monitoring or the scanner. */
export const AUDIT_ACTIONS = [
  'key.created',
  'key.updated',
  'key.rotated',
  'key.revoked',
  'key.suspended',
  'key.unsuspended',
  'key.propagation_incomplete',
  'upstream.added',
  'upstream.removed',
  'upstream.updated',
  'project.created',
  'project.updated',
  'project.removed',
  'upstream.key_added',
  'upstream.key_removed',
  'upstream.key_rotated',
  'vault.master_key_rotated',
  'admin_token.issued',
  'admin_token.revoked',
  'alert.acknowledged',
  'security.probing_detected',
  'security.leak_reported',
  // Provider-side key management (providers/).
  'provider.connected',
  'provider.key_revoke_started',
  'provider.key_revoked',
  'provider.key_revoke_failed',
  // Rotation of upstream keys at the provider (providers/rotation/): each step, and what failed.
  'provider.upstream_linked',
  'provider.service_account_created',
  'provider.rotation_started',
  'provider.rotation_key_created',
  'provider.rotation_drain_timeout',
  'provider.rotation_old_key_deleted',
  'provider.rotation_failed',
  'provider.rotation_completed',
  'security.github_alert_received',
  'security.provider_usage_mismatch',
  'security.canary_tripped',
  // Usage records could not all be buffered during a store outage: requests with limits were refused (store/outage/).
  'security.usage_buffer_full',
  // Console accounts (console-auth/).
  'user.created',
  'user.removed',
  'user.role_changed',
  'user.setup_completed',
  'user.signed_in',
  'user.sign_in_failed',
  'user.locked',
  'user.mfa_enrolled',
  'user.mfa_removed',
  'user.mfa_reset',
  'user.recovery_code_used',
  'user.recovery_codes_regenerated',
  'user.session_revoked',
  'user.signed_out',
  'user.signed_out_everywhere',
  'user.step_up',
] as const;

export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** What a caller supplies. `before`/`after` may be any object: they are sanitized before they are stored. */
export interface AuditInput {
  /** Who did it: `admin:adm_…`, `system:monitor`, `cli:local`. */
  actor: string;
  action: AuditAction;
  /** What it was done to: `key:key_…`, `upstream:ups_…`, `ip:203.0.113.9`. */
  target: string;
  before?: unknown;
  after?: unknown;
  /** Defaults to the log's clock. */
  ts?: number;
}

/** One sealed entry. `before`/`after` are sanitized JSON; a value that no longer parses is kept as its raw text. */
export interface AuditEntry {
  seq: number;
  ts: number;
  actor: string;
  action: string;
  target: string;
  before: JsonValue;
  after: JsonValue;
  prevHash: string;
  hash: string;
  /** HMAC of the entry under the vault-derived audit key; null for entries written before anchoring existed. */
  mac?: string | null;
}

/** The chain head, published for anchoring elsewhere (`keywarden audit head`). */
export interface AuditHead {
  seq: number;
  hash: string;
}

export interface AuditPage {
  entries: AuditEntry[];
  /** Cursor for the next page in storage order, or null at the end. */
  next: number | null;
}

export interface AuditListQuery {
  /** Only entries with seq >= fromSeq. */
  fromSeq?: number;
  limit: number;
  order: 'asc' | 'desc';
}

export interface AuditRepository {
  /**
   * Atomically reads the current head, builds the next entry from it with `seal` (pure, synchronous) and stores it.
   * Two appends can never share a seq or a prevHash.
   */
  append(seal: (head: AuditEntry | null) => AuditEntry): Promise<AuditEntry>;
  /** Entries in *storage* order (not seq order), so verification sees rows that were moved. */
  readPage(cursor: number | null, limit: number): Promise<AuditPage>;
  /** Entries by seq, for listing. */
  list(query: AuditListQuery): Promise<AuditEntry[]>;
  /** The entry with the highest seq. */
  head(): Promise<AuditEntry | null>;
  /**
   * Runs `fn` so that the store writes it makes and the audit entries appended inside it commit together or not
   * at all. `fn` must only do store work: waiting on network or timers inside it is refused.
   */
  atomically<T>(fn: () => Promise<T>): Promise<T>;
  /** The anchor copies kept outside the audit table (vault metadata and anchor file), as stored now. */
  anchors(): Promise<AnchorSnapshot>;
  /** Records `anchor` in every anchor location (used when anchoring starts). */
  writeAnchor(anchor: SignedAnchor): Promise<void>;
}
