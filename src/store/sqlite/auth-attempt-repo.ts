import type { AuthAttemptKind, AuthAttemptRepository } from '../types.js';
import type { SqliteDatabase } from './database.js';

export class SqliteAuthAttemptRepository implements AuthAttemptRepository {
  private readonly stmts;

  constructor(db: SqliteDatabase) {
    this.stmts = {
      record: db.prepare<[string, string, number]>('INSERT INTO auth_failures (subject, kind, ts) VALUES (?, ?, ?)'),
      countKind: db.prepare<[string, string, number], { n: number }>('SELECT COUNT(*) AS n FROM auth_failures WHERE subject = ? AND kind = ? AND ts >= ?'),
      countAll: db.prepare<[string, number], { n: number }>('SELECT COUNT(*) AS n FROM auth_failures WHERE subject = ? AND ts >= ?'),
      clear: db.prepare<[string, string]>('DELETE FROM auth_failures WHERE subject = ? AND kind = ?'),
      removeLock: db.prepare<[string]>('DELETE FROM auth_locks WHERE subject = ?'),
      insertLock: db.prepare<[string, number]>('INSERT INTO auth_locks (subject, locked_until) VALUES (?, ?)'),
      lockOf: db.prepare<[string, number], { locked_until: number }>('SELECT locked_until FROM auth_locks WHERE subject = ? AND locked_until > ?'),
      pruneFailures: db.prepare<[number]>('DELETE FROM auth_failures WHERE ts < ?'),
      pruneLocks: db.prepare<[number]>('DELETE FROM auth_locks WHERE locked_until < ?'),
    };
  }

  recordFailure(subject: string, kind: AuthAttemptKind, ts: number): Promise<void> {
    this.stmts.record.run(subject, kind, ts);
    return Promise.resolve();
  }

  failuresSince(subject: string, kind: AuthAttemptKind | null, since: number): Promise<number> {
    const row = kind === null ? this.stmts.countAll.get(subject, since) : this.stmts.countKind.get(subject, kind, since);
    return Promise.resolve(row?.n ?? 0);
  }

  clearFailures(subject: string, kind: AuthAttemptKind): Promise<void> {
    this.stmts.clear.run(subject, kind);
    return Promise.resolve();
  }

  lock(subject: string, until: number): Promise<void> {
    // Delete + insert instead of an upsert: plain SQL both stores run.
    this.stmts.removeLock.run(subject);
    this.stmts.insertLock.run(subject, until);
    return Promise.resolve();
  }

  lockedUntil(subject: string, now: number): Promise<number | null> {
    return Promise.resolve(this.stmts.lockOf.get(subject, now)?.locked_until ?? null);
  }

  unlock(subject: string): Promise<void> {
    this.stmts.removeLock.run(subject);
    return Promise.resolve();
  }

  prune(before: number): Promise<void> {
    this.stmts.pruneFailures.run(before);
    this.stmts.pruneLocks.run(before);
    return Promise.resolve();
  }
}
