import type { VirtualKeyRecord } from '../store/index.js';
import { VIRTUAL_KEY_PREFIX } from '../keys/index.js';

export type KeyStatus = 'active' | 'revoked' | 'expired' | 'suspended';

export function keyStatus(key: VirtualKeyRecord, now: number): KeyStatus {
  if (key.revokedAt !== null && key.revokedAt <= now) return 'revoked';
  if (key.expiresAt !== null && key.expiresAt <= now) return 'expired';
  if (key.suspendedAt !== null) return 'suspended';
  return 'active';
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** What the admin API shows of a key: never its hash, only its prefix and last 4 characters. */
export function keyView(key: VirtualKeyRecord, now: number): Record<string, unknown> {
  return {
    id: key.id,
    object: 'virtual_key',
    name: key.name,
    display: `${VIRTUAL_KEY_PREFIX}…${key.last4}`,
    status: keyStatus(key, now),
    upstream_id: key.upstreamId,
    project_id: key.projectId ?? null,
    fallback_upstream_ids: key.fallbackUpstreamIds,
    models: key.scopes.models,
    endpoints: key.scopes.endpoints,
    ip_allowlist: key.scopes.ipAllowlist,
    max_body_bytes: key.scopes.maxBodyBytes,
    objects_from: key.scopes.objectsFrom ?? [],
    limits: key.limits,
    metadata: key.metadata,
    created_at: iso(key.createdAt),
    updated_at: iso(key.updatedAt),
    expires_at: iso(key.expiresAt),
    revoked_at: iso(key.revokedAt),
    suspended_at: iso(key.suspendedAt),
    suspended_reason: key.suspendedReason,
    rotated_at: iso(key.rotatedAt),
    canary: key.canary === true,
    parent_id: key.parentId ?? null,
    previous_secret_valid_until:
      key.previousHashExpiresAt !== null && key.previousHashExpiresAt > now ? iso(key.previousHashExpiresAt) : null,
  };
}
