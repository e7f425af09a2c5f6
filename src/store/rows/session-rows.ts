import type { SessionRecord, SessionState } from '../types.js';

/** The session table's row shape and its mapping to records: one definition for the SQLite and the PostgreSQL store. */

export interface SessionRow {
  id_hash: string;
  user_id: string;
  state: string;
  csrf_token: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
  step_up_until: number | null;
  ip: string;
  user_agent: string;
  revoked_at: number | null;
}

export const STATES: readonly string[] = ['mfa_required', 'mfa_enrollment_required', 'signed_in'];

export function fromRow(row: SessionRow): SessionRecord {
  return {
    idHash: row.id_hash,
    userId: row.user_id,
    // An unknown state read back gets the least access (a second factor is still owed), never full access.
    state: (STATES.includes(row.state) ? row.state : 'mfa_required') as SessionState,
    csrfToken: row.csrf_token,
    createdAt: row.created_at,
    lastSeenAt: row.last_seen_at,
    expiresAt: row.expires_at,
    stepUpUntil: row.step_up_until,
    ip: row.ip,
    userAgent: row.user_agent,
    revokedAt: row.revoked_at,
  };
}
