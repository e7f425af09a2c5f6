import { existsSync } from 'node:fs';
import path from 'node:path';
import { KeywardenError } from '../../errors/index.js';
import { openDatabase, type SqliteDatabase } from '../sqlite/database.js';
import { ReservationJournal } from '../sqlite/reservation-journal.js';
import { settledReservationIds } from '../sqlite/settled-batches.js';
import { committedBatches, type BatchCommitted } from '../sqlite/settled-marks.js';
import { RESERVATION_JOURNAL_FILE_NAME, SQLITE_FILE_NAME } from '../sqlite/sqlite-store.js';
import { migratePg, PgDatabase, type PgValue } from '../postgres/pg-database.js';

export interface CopyReport {
  /** Rows copied per table, in copy order. */
  tables: Record<string, number>;
  /** Open budget reservations carried over (charged in full by the first gateway that starts on PostgreSQL). */
  openReservations: number;
}

/** PostgreSQL caps one statement at 65,535 parameters; batches stay well under it. */
const MAX_PARAMS = 30_000;

/** Tables whose storage order matters (audit verification walks it; usage lists break ties by it). */
const ROWID_ORDERED = new Set(['audit_log', 'usage']);

function sqliteTables(db: SqliteDatabase): Array<{ name: string; withoutRowid: boolean }> {
  const rows = db.prepare<[], { name: string; sql: string }>("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid").all();
  return rows.map((row) => ({ name: row.name, withoutRowid: /WITHOUT\s+ROWID/i.test(row.sql) }));
}

function sqliteColumns(db: SqliteDatabase, table: string): string[] {
  return db.prepare<[], { name: string }>(`SELECT name FROM pragma_table_info('${table.replaceAll("'", "''")}')`).all().map((c) => c.name);
}

const quote = (identifier: string): string => `"${identifier.replaceAll('"', '""')}"`;

/**
 * Copies a SQLite data directory into a PostgreSQL database, as it is: sealed upstream keys stay sealed (the
 * master key does not change), key hashes stay valid, the audit chain keeps its entries, order and anchor.
 *
 * Every table the two schemas share is copied, column by column where both have the column (so tables a later
 * version adds on both sides come along). One transaction: the target ends up with everything or nothing.
 * A non-empty target is refused unless `force`, which empties the shared tables first.
 */
export async function copySqliteToPostgres(dataDir: string, url: string, options: { force?: boolean } = {}): Promise<CopyReport> {
  const file = path.join(dataDir, SQLITE_FILE_NAME);
  if (!existsSync(file)) throw new KeywardenError('KW_USAGE', { message: `No keywarden database in ${dataDir} (expected ${SQLITE_FILE_NAME}).` });
  const sqlite = openDatabase(file);
  const pg = new PgDatabase({ url, max: 2 });
  try {
    await migratePg(pg);
    const pgColumns = new Map<string, Set<string>>();
    for (const row of await pg.rows<{ table_name: string; column_name: string }>(
      "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()",
    )) {
      let set = pgColumns.get(row.table_name);
      if (!set) pgColumns.set(row.table_name, (set = new Set()));
      set.add(row.column_name);
    }
    const tables = sqliteTables(sqlite).filter((t) => pgColumns.has(t.name));
    const report: CopyReport = { tables: {}, openReservations: 0 };
    await pg.transaction(async () => {
      await refuseNonEmpty(pg, tables.map((t) => t.name), options.force === true);
      // Parents before children (alert_deliveries references alerts): SQLite created them in that order.
      for (const table of tables) {
        const columns = sqliteColumns(sqlite, table.name).filter((c) => pgColumns.get(table.name)?.has(c));
        report.tables[table.name] = await copyTable(sqlite, pg, table.name, columns, !table.withoutRowid && ROWID_ORDERED.has(table.name));
      }
      report.openReservations = await copyOpenReservations(pg, dataDir, settledReservationIds(sqlite), committedBatches(sqlite));
    });
    return report;
  } finally {
    sqlite.close();
    await pg.close();
  }
}

async function refuseNonEmpty(pg: PgDatabase, tables: readonly string[], force: boolean): Promise<void> {
  const checked = [...tables, 'spend_reservations'];
  const nonEmpty: string[] = [];
  for (const table of checked) {
    // meta holds nothing before a server started on the database; any row means someone did.
    if ((await pg.one(`SELECT 1 AS x FROM ${quote(table)} LIMIT 1`)) !== null) nonEmpty.push(table);
  }
  if (nonEmpty.length === 0) return;
  if (!force) {
    throw new KeywardenError('KW_USAGE', {
      message: `The target database is not empty (${nonEmpty.join(', ')}); pass --force to replace its contents.`,
    });
  }
  await pg.query(`TRUNCATE ${checked.map(quote).join(', ')}`);
}

async function copyTable(sqlite: SqliteDatabase, pg: PgDatabase, table: string, columns: readonly string[], byRowid: boolean): Promise<number> {
  if (columns.length === 0) return 0;
  const select = sqlite.prepare(`SELECT ${columns.map(quote).join(', ')} FROM ${quote(table)}${byRowid ? ' ORDER BY rowid' : ''}`).raw(true);
  const perBatch = Math.max(1, Math.floor(MAX_PARAMS / columns.length));
  const insertPrefix = `INSERT INTO ${quote(table)} (${columns.map(quote).join(', ')}) VALUES `;
  let batch: PgValue[][] = [];
  let copied = 0;
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const values: PgValue[] = [];
    const tuples = batch.map((row) => `(${row.map((value) => (values.push(value), `$${values.length}`)).join(', ')})`);
    await pg.query(insertPrefix + tuples.join(', '), values);
    copied += batch.length;
    batch = [];
  };
  for (const row of select.iterate() as IterableIterator<PgValue[]>) {
    batch.push(row);
    if (batch.length >= perBatch) await flush();
  }
  await flush();
  return copied;
}

/** Reservations the SQLite server left open (a crash): carried over with no live owner, so they are charged. */
async function copyOpenReservations(pg: PgDatabase, dataDir: string, settled: ReadonlySet<string>, committed: BatchCommitted): Promise<number> {
  const file = path.join(dataDir, RESERVATION_JOURNAL_FILE_NAME);
  if (!existsSync(file)) return 0;
  const journal = new ReservationJournal(file);
  // A reservation whose settlement is committed is not open: by its batch's tagged close line and the batch's mark,
  // or (data dirs of earlier versions) by a settled_reservation_batches row.
  const open = journal.recover(committed).filter((r) => !settled.has(r.id));
  journal.shutdown();
  for (const reservation of open) {
    await pg.query('INSERT INTO spend_reservations (id, owner_lock, record, created_at) VALUES ($1, 0, $2, $3) ON CONFLICT (id) DO NOTHING', [
      reservation.id,
      JSON.stringify(reservation),
      reservation.createdAt,
    ]);
  }
  return open.length;
}
