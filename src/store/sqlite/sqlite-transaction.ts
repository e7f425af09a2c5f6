import { AsyncLocalStorage } from 'node:async_hooks';
import { KeywardenError } from '../../errors/index.js';
import type { SqliteDatabase } from './database.js';

/**
 * Async-friendly write transactions over one better-sqlite3 connection.
 *
 * The Store interface is async, so a transaction has to stay open across `await`s. That is safe on one connection
 * only while nothing else writes in between: a foreign write would silently join the transaction and vanish on
 * rollback. So:
 * - sections are serialized by a mutex, and code running outside a section that needs exclusivity (audit appends)
 *   waits for it through `exclusive`;
 * - the SQLite repos resolve their promises immediately, so a section made of store calls finishes within one turn
 *   of the event loop, before any timer or I/O callback (the usage flush, say) can run. A section that does wait
 *   on the event loop is rolled back and refused, so the mistake shows up in the first test, not in production.
 */
export class SqliteTransactionRunner {
  private readonly scope = new AsyncLocalStorage<true>();
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly db: SqliteDatabase) {}

  /** True inside `run` (including code it awaits). */
  get inTransaction(): boolean {
    return this.scope.getStore() === true;
  }

  /** Runs `fn` once no transaction section is open (or directly, from inside one). */
  exclusive<T>(fn: () => T | Promise<T>): Promise<T> {
    if (this.inTransaction) return Promise.resolve().then(fn);
    const result = this.tail.then(fn);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** BEGIN IMMEDIATE … COMMIT around `fn`; ROLLBACK if it throws. Nested calls join the open transaction. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.inTransaction) return fn();
    return this.exclusive(async () => {
      this.db.exec('BEGIN IMMEDIATE');
      let loopTurned = false;
      const probe = setImmediate(() => {
        loopTurned = true;
      });
      try {
        const result = await this.scope.run(true, fn);
        if (loopTurned) {
          throw new KeywardenError('KW_INTERNAL', {
            message: 'An atomic store section waited on I/O or a timer; it was rolled back.',
          });
        }
        this.db.exec('COMMIT');
        return result;
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw err;
      } finally {
        clearImmediate(probe);
        // Sections are serialized, so none is open now. Disabling the store turns Node's async hooks back off:
        // while any AsyncLocalStorage is enabled, every promise in the process (the proxy's included) pays for
        // context propagation.
        this.scope.disable();
      }
    });
  }
}

const runners = new WeakMap<SqliteDatabase, SqliteTransactionRunner>();

/** One runner per connection, so every repo that uses it shares the same mutex. */
export function transactionRunnerFor(db: SqliteDatabase): SqliteTransactionRunner {
  let runner = runners.get(db);
  if (!runner) {
    runner = new SqliteTransactionRunner(db);
    runners.set(db, runner);
  }
  return runner;
}
