/** The audit table's row shape: one definition for the SQLite and the PostgreSQL store. */

export interface AuditRow {
  pos: number;
  seq: number;
  ts: number;
  actor: string;
  action: string;
  target: string;
  before: string | null;
  after: string | null;
  prev_hash: string;
  hash: string;
  mac: string | null;
}
