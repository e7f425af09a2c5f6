import type { AuthAttemptKind, AuthAttemptRepository } from '../types.js';
import type { PgDatabase } from './pg-database.js';

/** Failed sign-ins and lockouts, shared by every replica (a lockout holds whichever replica the client reaches). */
export class PgAuthAttemptRepository implements AuthAttemptRepository {
  constructor(private readonly db: PgDatabase) {}

  async recordFailure(subject: string, kind: AuthAttemptKind, ts: number): Promise<void> {
    await this.db.query('INSERT INTO auth_failures (subject, kind, ts) VALUES ($1, $2, $3)', [subject, kind, ts]);
  }

  async failuresSince(subject: string, kind: AuthAttemptKind | null, since: number): Promise<number> {
    const row =
      kind === null
        ? await this.db.one<{ n: number }>('SELECT COUNT(*) AS n FROM auth_failures WHERE subject = $1 AND ts >= $2', [subject, since])
        : await this.db.one<{ n: number }>('SELECT COUNT(*) AS n FROM auth_failures WHERE subject = $1 AND kind = $2 AND ts >= $3', [subject, kind, since]);
    return row?.n ?? 0;
  }

  async clearFailures(subject: string, kind: AuthAttemptKind): Promise<void> {
    await this.db.query('DELETE FROM auth_failures WHERE subject = $1 AND kind = $2', [subject, kind]);
  }

  async lock(subject: string, until: number): Promise<void> {
    await this.db.query('INSERT INTO auth_locks (subject, locked_until) VALUES ($1, $2) ON CONFLICT (subject) DO UPDATE SET locked_until = excluded.locked_until', [
      subject,
      until,
    ]);
  }

  async lockedUntil(subject: string, now: number): Promise<number | null> {
    return (await this.db.one<{ locked_until: number }>('SELECT locked_until FROM auth_locks WHERE subject = $1 AND locked_until > $2', [subject, now]))?.locked_until ?? null;
  }

  async unlock(subject: string): Promise<void> {
    await this.db.query('DELETE FROM auth_locks WHERE subject = $1', [subject]);
  }

  async prune(before: number): Promise<void> {
    await this.db.query('DELETE FROM auth_failures WHERE ts < $1', [before]);
    await this.db.query('DELETE FROM auth_locks WHERE locked_until < $1', [before]);
  }
}
