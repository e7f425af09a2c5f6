import { closeSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS } from './migrations.js';

export type SqliteDatabase = Database.Database;

/**
 * Opens the SQLite file in WAL mode and brings its schema up to date.
 *
 * synchronous=FULL: every committed transaction is fsynced before its call returns (keys, tokens, audit, ...).
 * The two hot-path batch writers (usage batches, spend settlements; one transaction per flush window) relax that
 * for their own transactions and fsync the write-ahead log in libuv's threadpool instead (wal-durability.ts), so
 * the event loop does not wait for the disk every 20 ms; they survive kill -9 at once and power loss once that
 * fsync returns.
 */
export function openDatabase(file: string): SqliteDatabase {
  if (file !== ':memory:') {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    // Created 0600 before SQLite opens it: SQLite gives the -wal, -shm and -journal files the database's mode.
    closeSync(openSync(file, 'a', 0o600));
  }
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return db;
}

export function migrate(db: SqliteDatabase, migrations: readonly string[] = MIGRATIONS): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  for (let version = current; version < migrations.length; version++) {
    db.transaction(() => {
      db.exec(migrations[version] as string);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
}
