import type { VirtualKeyRecord } from '../types.js';
import { fromJson } from '../sqlite/json-column.js';

/** The key table's row shape and its mapping to records: one definition for the SQLite and the PostgreSQL store. */

export interface KeyRow {
  id: string;
  name: string;
  hash: string;
  last4: string;
  previous_hash: string | null;
  previous_hash_expires_at: number | null;
  upstream_id: string | null;
  scopes: string;
  limits: string;
  metadata: string;
  created_at: number;
  updated_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  suspended_at: number | null;
  suspended_reason: string | null;
  rotated_at: number | null;
  project_id: string | null;
  fallback_upstream_ids: string;
  canary: number;
  parent_id: string | null;
}

export function fromRow(row: KeyRow): VirtualKeyRecord {
  return {
    id: row.id,
    name: row.name,
    hash: row.hash,
    last4: row.last4,
    previousHash: row.previous_hash,
    previousHashExpiresAt: row.previous_hash_expires_at,
    upstreamId: row.upstream_id,
    scopes: fromJson(row.scopes),
    limits: fromJson(row.limits),
    metadata: fromJson(row.metadata),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    suspendedAt: row.suspended_at,
    suspendedReason: row.suspended_reason,
    rotatedAt: row.rotated_at,
    projectId: row.project_id,
    fallbackUpstreamIds: fromJson(row.fallback_upstream_ids),
    canary: row.canary === 1,
    parentId: row.parent_id,
  };
}

/** The table's columns in one fixed order (statements and raw tuples follow it). */
export const COLUMNS = [
  'id',
  'name',
  'hash',
  'last4',
  'previous_hash',
  'previous_hash_expires_at',
  'upstream_id',
  'scopes',
  'limits',
  'metadata',
  'created_at',
  'updated_at',
  'expires_at',
  'revoked_at',
  'suspended_at',
  'suspended_reason',
  'rotated_at',
  'project_id',
  'fallback_upstream_ids',
  'canary',
  'parent_id',
] as const;

/** Deep-freezes a parsed JSON column value: remembered or cached records share these objects between requests. */
export function frozen<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) frozen(child);
    Object.freeze(value);
  }
  return value;
}
