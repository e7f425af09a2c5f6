import type { AdminRole, PasskeyRecord, UserRecord } from '../types.js';
import { fromJson } from '../sqlite/json-column.js';
import { ROLES } from './admin-token-rows.js';

/** The user table's row shape (and its mapping to records): one definition for the SQLite and the PostgreSQL store. */

export interface UserRow {
  id: string;
  name: string;
  role: string;
  password_hash: string | null;
  totp_sealed: string | null;
  totp_pending_sealed: string | null;
  totp_last_step: number | null;
  created_at: number;
  updated_at: number;
}

export interface PasskeyRow {
  id: string;
  user_id: string;
  public_key: string;
  counter: number;
  transports: string;
  name: string;
  created_at: number;
  last_used_at: number | null;
}

export function userFromRow(row: UserRow): UserRecord {
  return {
    id: row.id,
    name: row.name,
    // An unknown role read back gets the least power, never the most.
    role: (ROLES.includes(row.role) ? row.role : 'viewer') as AdminRole,
    passwordHash: row.password_hash,
    totpSealed: row.totp_sealed,
    totpPendingSealed: row.totp_pending_sealed,
    totpLastStep: row.totp_last_step,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function passkeyFromRow(row: PasskeyRow): PasskeyRecord {
  return {
    id: row.id,
    userId: row.user_id,
    publicKey: row.public_key,
    counter: row.counter,
    transports: fromJson<string[]>(row.transports),
    name: row.name,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
  };
}
