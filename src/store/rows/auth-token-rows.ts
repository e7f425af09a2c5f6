/** The setup-token and WebAuthn-challenge tables' row shapes: one definition for the SQLite and the PostgreSQL store. */

export interface SetupRow {
  hash: string;
  user_id: string | null;
  role: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

export interface ChallengeRow {
  challenge: string;
  purpose: string;
  session_id_hash: string | null;
  user_id: string | null;
  expires_at: number;
}
