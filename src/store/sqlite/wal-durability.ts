import { openSync } from 'node:fs';
import { CoalescedFsync, type DurableCallback, type FsyncFunction } from './coalesced-fsync.js';
import type { SqliteDatabase } from './database.js';

/** Where a failed background fsync is reported (never swallowed). Defaults to a process warning on stderr. */
export type DurabilityErrorReporter = (what: string, error: Error) => void;

export const warnDurabilityError: DurabilityErrorReporter = (what, error) => {
  const code = (error as NodeJS.ErrnoException).code ?? error.message;
  process.emitWarning(`keywarden: fsync of ${what} failed (${code}); recent writes may not survive a power loss`, 'KeywardenDurabilityWarning');
};

/**
 * Power-loss durability of the batched hot-path commits (usage batches, spend settlements) without fsync on the
 * event loop.
 *
 * The connection stays at synchronous=FULL (database.ts), so every other write (keys, admin tokens, audit) is
 * still fsynced before its call returns. A batch commit runs through `commitRelaxed`, at synchronous=NORMAL for
 * that one transaction: in WAL mode its frames reach the -wal file with write(2) — in the page cache, so they
 * survive kill -9 at once — and SQLite does not fsync. `afterDurable(callback)` then fsyncs the -wal file through
 * libuv's threadpool (an fd of our own: fsync is per inode, so it flushes SQLite's writes too), coalesced, and
 * runs the callback once everything committed before the call is on stable storage. Checkpoints still fsync on
 * the connection's thread (SQLite does that itself, once per ~1,000 WAL pages).
 *
 * An in-memory database, or one not in WAL mode, has nothing to relax: commits keep the connection's setting and
 * callbacks run at once.
 */
export class WalDurability {
  private readonly db: SqliteDatabase | null;
  private readonly walFile: string | null;
  private fsyncs: CoalescedFsync | null = null;
  private closed = false;
  private relaxed = false;

  private readonly report: DurabilityErrorReporter;
  private readonly fsyncFile: FsyncFunction | undefined;

  constructor(db: SqliteDatabase, options: { report?: DurabilityErrorReporter; fsync?: FsyncFunction } = {}) {
    this.report = options.report ?? warnDurabilityError;
    this.fsyncFile = options.fsync;
    const wal = !db.memory && String(db.pragma('journal_mode', { simple: true })).toLowerCase() === 'wal';
    this.walFile = wal ? `${db.name}-wal` : null;
    this.db = wal ? db : null;
  }

  /** Runs `commit` (one transaction) without fsync; pair it with `afterDurable` for power-loss durability. */
  commitRelaxed<T>(commit: () => T): T {
    const db = this.db;
    // Nested (settlements committed in the usage batch's window): already relaxed, and the outer call restores FULL.
    if (db === null || this.relaxed) return commit();
    // exec, not a prepared statement: SQLite applies this pragma when the statement is compiled, not when it runs.
    db.exec('PRAGMA synchronous = NORMAL');
    this.relaxed = true;
    try {
      return commit();
    } finally {
      this.relaxed = false;
      db.exec('PRAGMA synchronous = FULL');
    }
  }

  /**
   * `callback(null)` once every transaction committed before this call is on stable storage; `callback(error)`
   * if the fsync that was to cover it failed (the error is also reported). Never runs on a closed instance.
   */
  afterDurable(callback: DurableCallback): void {
    if (this.closed) return;
    let fsyncs: CoalescedFsync | null;
    try {
      fsyncs = this.fsyncsOrNull();
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      this.report('the SQLite write-ahead log', error);
      callback(error);
      return;
    }
    if (fsyncs === null) {
      callback(null);
      return;
    }
    fsyncs.afterDurable((error) => {
      if (this.closed) return;
      if (error) this.report('the SQLite write-ahead log', error);
      callback(error);
    });
  }

  /** Requests durability of what is committed so far; a failure is reported. */
  requestDurable(): void {
    this.afterDurable(ignoreResult);
  }

  /** For shutdown: fsyncs the log on this thread and answers every waiting callback first. */
  syncNow(): void {
    if (this.closed) return;
    this.fsyncs?.syncNow();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.fsyncs?.replace(null);
  }

  private fsyncsOrNull(): CoalescedFsync | null {
    // Opened lazily: SQLite creates the -wal file with the first write, and it exists for as long as the
    // connection is open (it is never replaced while a connection uses it).
    if (this.fsyncs === null && this.walFile !== null) this.fsyncs = new CoalescedFsync(openSync(this.walFile, 'r'), this.fsyncFile);
    return this.fsyncs;
  }
}

function ignoreResult(): void {
  // requestDurable: the error was reported by afterDurable.
}
