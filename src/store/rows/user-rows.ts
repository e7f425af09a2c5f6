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
