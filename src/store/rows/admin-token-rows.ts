import type { AdminRole, AdminTokenRecord } from '../types.js';

/** The admin-token table's row shape and its mapping to records: one definition for the SQLite and the PostgreSQL store. */

export interface AdminTokenRow {
  id: string;
  name: string;
  hash: string;
  last4: string;
  role: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
  project_id: string | null;
}

export const ROLES: readonly string[] = ['owner', 'admin', 'viewer'];

export function fromRow(row: AdminTokenRow): AdminTokenRecord {
  return {
    id: row.id,
    name: row.name,
    hash: row.hash,
    last4: row.last4,
    // An unknown role read back gets the least power, never the most.
    role: (ROLES.includes(row.role) ? row.role : 'viewer') as AdminRole,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
    projectId: row.project_id,
  };
}
