import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';
import { translatePgError } from './pg-errors.js';
import { PG_MIGRATIONS } from './pg-migrations.js';

/** int8 (COUNT, SUM of integers, BIGINT columns: epoch milliseconds) and numeric (SUM of bigints) as JS numbers. */
const INT8_OID = 20;
const NUMERIC_OID = 1700;
const parseNumber = (text: string): number => Number(text);
function getTypeParser(oid: number, format?: 'text' | 'binary'): (text: string) => unknown {
  if (oid === INT8_OID || oid === NUMERIC_OID) return parseNumber;
  return pg.types.getTypeParser(oid, format) as (text: string) => unknown;
}
const types = { getTypeParser: getTypeParser as typeof pg.types.getTypeParser };

/**
 * The pool's clients, each with an error listener from birth. pg-pool attaches its own only once a connection is
 * up; a server that goes away while a pool connection is still being set up (PostgreSQL stopping under load) makes
 * the client emit 'error' with no listener, an uncaught exception that would end the process. The query or connect
 * in progress still fails and is reported as 503 store_unavailable.
 */
class PoolClient extends pg.Client {
  constructor(config?: string | pg.ClientConfig) {
    super(config);
    this.on('error', () => undefined);
  }
}

/** Advisory lock (first key) taken by every start-up migration, so replicas starting together migrate once. */
export const MIGRATION_LOCK = 0x6b770001;
/** Advisory lock held while a replica performs its first-start duties (vault data key, bootstrap imports). */
export const STARTUP_LOCK = 0x6b770004;
/** Advisory lock class serialising audit appends across replicas (see pg-audit-repo.ts). */
export const AUDIT_LOCK = 0x6b770002;
/** Advisory lock class: one session lock per live store instance, so its open reservations are known to be live. */
export const INSTANCE_LOCK_CLASS = 0x6b770003;
/** Advisory lock class serialising the raise of one alert (detector, subject) across replicas (pg-alert-repo.ts). */
export const ALERT_RAISE_LOCK_CLASS = 0x6b770005;

export type PgValue = string | number | boolean | null | readonly string[] | readonly number[] | readonly (string | null)[] | readonly (number | null)[] | readonly boolean[];

export interface PgConnectionOptions {
  url: string;
  /** Pool size of this process; a replica rarely needs more than a handful. */
  max?: number;
  /** Milliseconds to wait for a connection before a query fails (the store then reports itself unavailable). */
  connectTimeoutMs?: number;
}

/**
 * One pool per store. Repositories send every statement through `query`, which uses the client of the transaction
 * the caller is in (see `transaction`), or any pooled connection otherwise.
 */
export class PgDatabase {
  readonly pool: pg.Pool;
  private readonly scope = new AsyncLocalStorage<pg.PoolClient>();
  private openTransactions = 0;
  private closed = false;

  constructor(readonly options: PgConnectionOptions) {
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.max ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
      idleTimeoutMillis: 30_000,
      types,
      Client: PoolClient,
    });
    // An idle client losing its connection (server restart) must not crash the process; the pool replaces it.
    this.pool.on('error', () => undefined);
  }

  /** A client with the same connection settings, outside the pool (LISTEN, session advisory locks). */
  newClient(): pg.Client {
    return new pg.Client({ connectionString: this.options.url, connectionTimeoutMillis: this.options.connectTimeoutMs ?? 5000, types });
  }

  get inTransaction(): boolean {
    return this.scope.getStore() !== undefined;
  }

  async query<R extends pg.QueryResultRow>(text: string, values: readonly PgValue[] = []): Promise<pg.QueryResult<R>> {
    const client = this.scope.getStore();
    try {
      return await (client ?? this.pool).query<R>(text, values as unknown[]);
    } catch (err) {
      throw translatePgError(err);
    }
  }

  async rows<R extends pg.QueryResultRow>(text: string, values: readonly PgValue[] = []): Promise<R[]> {
    return (await this.query<R>(text, values)).rows;
  }

  async one<R extends pg.QueryResultRow>(text: string, values: readonly PgValue[] = []): Promise<R | null> {
    return (await this.query<R>(text, values)).rows[0] ?? null;
  }

  /**
   * BEGIN … COMMIT on one pooled client around `fn`; every store call `fn` makes (and awaits) runs on that client.
   * ROLLBACK if it throws. Nested calls join the open transaction. Read committed: statements that must not race
   * across replicas take row locks (SELECT … FOR UPDATE) or an advisory transaction lock.
   */
  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    if (this.scope.getStore() !== undefined) return fn();
    const client = await this.pool.connect().catch((err: unknown) => {
      throw translatePgError(err);
    });
    this.openTransactions++;
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await this.scope.run(client, fn);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw translatePgError(err);
    } finally {
      client.release(broken);
      // While any AsyncLocalStorage is enabled every promise in the process pays for context propagation: turn it
      // back off once no transaction is open (the gateway's hot path runs none).
      if (--this.openTransactions === 0) this.scope.disable();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}

/**
 * Brings the schema up to date. One transaction holding an advisory transaction lock: replicas starting at once
 * queue on the lock, and each one after the first finds nothing left to do. DDL is transactional in PostgreSQL, so
 * a failed migration leaves the previous version intact.
 */
export async function migratePg(db: PgDatabase, migrations: readonly string[] = PG_MIGRATIONS): Promise<number> {
  return db.transaction(async () => {
    await db.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await db.query('CREATE TABLE IF NOT EXISTS keywarden_schema (version INTEGER NOT NULL)');
    const row = await db.one<{ version: number }>('SELECT version FROM keywarden_schema');
    if (row === null) await db.query('INSERT INTO keywarden_schema (version) VALUES (0)');
    const current = row?.version ?? 0;
    for (let version = current; version < migrations.length; version++) {
      await db.query(migrations[version] as string);
    }
    if (current < migrations.length) await db.query('UPDATE keywarden_schema SET version = $1', [migrations.length]);
    return migrations.length - current;
  });
}
