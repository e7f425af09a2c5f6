import { USAGE_GROUP_FIELDS, USAGE_GROUPS, type KeyLastUseRow, type UsageGroup, type UsageQuery, type UsageRecord, type UsageRepository, type UsageSummaryRow, type UsageTotalsQuery, type UsageTotalsRow } from '../types.js';
import type { SqliteDatabase } from './database.js';
import type { UsageRow } from '../rows/usage-rows.js';
import { fromRow } from '../rows/usage-rows.js';
import { SUMMARY_SUMS_SQL, TOTALS_DIM_SQL, TOTALS_SUMS_SQL } from '../rows/usage-summary-sql.js';
import { UsageBatchInsert } from './usage-batch-insert.js';
import { WalDurability } from './wal-durability.js';


const FILTER = `WHERE (@since IS NULL OR ts >= @since) AND (@until IS NULL OR ts < @until)
  AND (@keyId IS NULL OR key_id = @keyId)`;

function bind(query: UsageQuery): { since: number | null; until: number | null; keyId: string | null } {
  return { since: query.since ?? null, until: query.until ?? null, keyId: query.keyId ?? null };
}

type PageParams = ReturnType<typeof bind> & { limit: number; afterTs: number | null; afterId: string | null };

/** Whitelisted SQL for each grouping dimension: user input never reaches the statement text. */
const GROUP_COLUMNS: Record<UsageGroup, string> = {
  key: 'key_id AS keyId',
  model: 'model',
  day: "strftime('%Y-%m-%d', ts / 1000, 'unixepoch') AS day",
};

export class SqliteUsageRepository implements UsageRepository {
  private readonly db: SqliteDatabase;
  private readonly insertMany_;
  private readonly listStmt;
  private readonly pageStmt;
  private readonly pageAfterStmt;
  private readonly lastUseStmt;
  private readonly usedScopesStmt;
  private readonly summaryStmts = new Map<string, ReturnType<SqliteDatabase['prepare']>>();
  private readonly totalsStmts = new Map<string, ReturnType<SqliteDatabase['prepare']>>();
  private readonly recentStmt;
  private readonly durability: WalDurability;

  /**
   * `alongside`: commits other batched writes in this batch's relaxed window and returns their durability requests
   * (the spend settlements, sqlite-store.ts), so one fsync of the log covers both.
   */
  constructor(
    db: SqliteDatabase,
    durability: WalDurability = new WalDurability(db),
    private readonly alongside: () => (() => void) | null = noneAlongside,
  ) {
    this.durability = durability;
    // Multi-row INSERTs with positional parameters (usage-batch-insert.ts): per-record statement runs, and binding
    // by name, were a visible share of the gateway's CPU, on its event loop, for every proxied request.
    const batch = new UsageBatchInsert(db);
    // One transaction per batch: one fsync for many records, and a batch is written whole or not at all.
    this.insertMany_ = db.transaction((records: readonly UsageRecord[]) => batch.run(records));
    this.listStmt = db.prepare<ReturnType<typeof bind>, UsageRow>(`SELECT * FROM usage ${FILTER} ORDER BY ts, rowid`);
    // Pages walk the ts index in (ts, id) order and stop after LIMIT rows, so one call costs at most one page.
    this.pageStmt = db.prepare<PageParams, UsageRow>(`SELECT * FROM usage ${FILTER} ORDER BY ts, id LIMIT @limit`);
    this.pageAfterStmt = db.prepare<PageParams, UsageRow>(
      `SELECT * FROM usage ${FILTER} AND ts >= @afterTs AND (ts > @afterTs OR id > @afterId) ORDER BY ts, id LIMIT @limit`,
    );
    // MAX with key_id bound is answered by one seek of the (key_id, ts) index (SQLite's min/max optimisation).
    this.lastUseStmt = db.prepare<[string], { ts: number | null }>('SELECT MAX(ts) AS ts FROM usage WHERE key_id = ?');
    this.usedScopesStmt = db.prepare<[number], { keyId: string; endpoint: string; model: string | null }>(
      'SELECT DISTINCT key_id AS keyId, endpoint, model FROM usage WHERE ts >= ? AND status < 400',
    );
    this.recentStmt = db.prepare<[string, number], UsageRow>('SELECT * FROM usage WHERE key_id = ? ORDER BY ts DESC, id DESC LIMIT ?');
    this.db = db;
  }

  totalsBy(query: UsageTotalsQuery): Promise<UsageTotalsRow[]> {
    // With a key: the (key_id, ts) index; without: the ts index. Plain conditions, so SQLite can use either.
    const byKey = query.keyId !== undefined;
    const cacheKey = `${query.dim}:${byKey}`;
    let stmt = this.totalsStmts.get(cacheKey);
    if (!stmt) {
      // Counted as UsageIntake counts into the rollups, so a range read raw adds up with ranges read from rollups.
      stmt = this.db.prepare(
        `SELECT ${TOTALS_DIM_SQL[query.dim]} AS "dimValue", ${TOTALS_SUMS_SQL}
         FROM usage WHERE ${byKey ? 'key_id = @keyId AND ' : ''}ts >= @since AND ts < @until
         GROUP BY dimValue`,
      );
      this.totalsStmts.set(cacheKey, stmt);
    }
    return Promise.resolve(stmt.all({ since: query.since, until: query.until, ...(byKey ? { keyId: query.keyId } : {}) }) as UsageTotalsRow[]);
  }

  recentForKey(keyId: string, limit: number): Promise<UsageRecord[]> {
    return Promise.resolve(this.recentStmt.all(keyId, limit).map(fromRow));
  }

  lastUsedAt(keyIds: readonly string[]): Promise<KeyLastUseRow[]> {
    return Promise.resolve(keyIds.map((keyId) => ({ keyId, lastUsedAt: this.lastUseStmt.get(keyId)?.ts ?? null })));
  }

  usedScopes(since: number): Promise<Array<{ keyId: string; endpoint: string; model: string | null }>> {
    return Promise.resolve(this.usedScopesStmt.all(since));
  }

  insertMany(records: readonly UsageRecord[]): Promise<void> {
    try {
      // Committed with write(2) only (a kill -9 keeps it), then fsynced in libuv's threadpool rather than on the
      // event loop (wal-durability.ts); a failed fsync is reported there. The promise does not wait for the fsync:
      // the recorder's contract is kill -9 (its flush interval), and power loss costs at most the last fsync's span.
      if (records.length > 0) {
        let requestOthers: (() => void) | null = null;
        try {
          this.durability.commitRelaxed(() => {
            requestOthers = this.alongside();
            this.insertMany_(records);
          });
        } finally {
          // Made after both commits (or the usage one failing), the settlements' request starts one fsync of the log
          // that covers the usage commit too; only without it does the usage batch make its own. (The cast: TypeScript
          // does not see the assignment inside the callback.)
          const others = requestOthers as (() => void) | null;
          if (others !== null) others();
          else this.durability.requestDurable();
        }
      }
    } catch (err) {
      // A rejection, as the interface promises: the recorder keeps a failed batch only when it sees one.
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    return Promise.resolve();
  }

  list(query: UsageQuery): Promise<UsageRecord[]> {
    if (query.limit === undefined) return Promise.resolve(this.listStmt.all(bind(query)).map(fromRow));
    const params: PageParams = { ...bind(query), limit: query.limit, afterTs: query.after?.ts ?? null, afterId: query.after?.id ?? null };
    const stmt = query.after ? this.pageAfterStmt : this.pageStmt;
    return Promise.resolve(stmt.all(params).map(fromRow));
  }

  /** Errors are counted as the rollups count them (status >= 400, or 0: no response), so both paths agree. */
  summarize(query: UsageQuery, groupBy: readonly UsageGroup[] = USAGE_GROUPS): Promise<UsageSummaryRow[]> {
    const groups = USAGE_GROUPS.filter((g) => groupBy.includes(g));
    const cacheKey = groups.join(',');
    let stmt = this.summaryStmts.get(cacheKey);
    if (!stmt) {
      const keys = groups.map((g) => USAGE_GROUP_FIELDS[g]).join(', ');
      stmt = this.db.prepare(
        `SELECT ${groups.map((g) => `${GROUP_COLUMNS[g]}, `).join('')} ${SUMMARY_SUMS_SQL}
         FROM usage ${FILTER}
         ${keys ? `GROUP BY ${keys} ORDER BY ${keys}` : ''}`,
      );
      this.summaryStmts.set(cacheKey, stmt);
    }
    return Promise.resolve(stmt.all(bind(query)) as UsageSummaryRow[]);
  }

}

function noneAlongside(): null {
  return null;
}
