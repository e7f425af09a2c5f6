import path from 'node:path';
import { SOLE_LEADER, type LeaderLease } from '../../cluster/leader-lease.js';
import type { AuditRepository } from '../../audit/types.js';
import type { MonitorRepositories } from '../../monitor/engine.js';
import type { Store } from '../types.js';
import { SqliteAlertRepository } from './alert-repo.js';
import { SqliteAuditRepository } from './audit-repo.js';
import { SqliteSeenRepository } from './monitor-seen-repo.js';
import { SqliteRollupRepository } from './rollup-repo.js';
import { SqliteAdminTokenRepository } from './admin-token-repo.js';
import { openDatabase, type SqliteDatabase } from './database.js';
import { SqliteKeyRepository } from './key-repo.js';
import { SqliteMetaRepository } from './meta-repo.js';
import { SqliteObjectRepository } from './object-repo.js';
import { SqliteProjectRepository } from './project-repo.js';
import { ReservationJournal } from './reservation-journal.js';
import { SqliteSpendRepository } from './spend-repo.js';
import { SqliteUpstreamRepository } from './upstream-repo.js';
import { SqliteUsageRepository } from './usage-repo.js';
import { SqliteUserRepository } from './user-repo.js';
import { SqliteSessionRepository } from './session-repo.js';
import { SqliteAuthAttemptRepository } from './auth-attempt-repo.js';
import { SqliteAuthTokenRepository } from './auth-token-repo.js';
import { WalDurability } from './wal-durability.js';

export const SQLITE_FILE_NAME = 'keywarden.sqlite';
export const RESERVATION_JOURNAL_FILE_NAME = 'reservations.journal';

/** The embedded default store: one SQLite file in WAL mode under the data directory. */
export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  readonly keys;
  readonly spend;
  readonly upstreams;
  readonly usage;
  readonly adminTokens;
  readonly meta;
  readonly objects;
  readonly projects;
  readonly users;
  readonly sessions;
  readonly authAttempts;
  readonly authTokens;

  /** `journalFile`: where open budget reservations are journaled; without one they live in memory (tests). */
  constructor(
    readonly db: SqliteDatabase,
    journalFile: string | null = null,
  ) {
    this.keys = new SqliteKeyRepository(db);
    // One background fsync of the write-ahead log for both batch writers (wal-durability.ts).
    const durability = new WalDurability(db);
    this.spend = new SqliteSpendRepository(db, new ReservationJournal(journalFile), durability);
    this.upstreams = new SqliteUpstreamRepository(db);
    // Settlements commit in the usage batch's window when one comes first: one fsync of the log for both.
    const spend = this.spend;
    this.usage = new SqliteUsageRepository(db, durability, () => spend.commitAlongside());
    this.adminTokens = new SqliteAdminTokenRepository(db);
    this.meta = new SqliteMetaRepository(db);
    this.objects = new SqliteObjectRepository(db);
    this.projects = new SqliteProjectRepository(db);
    this.users = new SqliteUserRepository(db);
    this.sessions = new SqliteSessionRepository(db);
    this.authAttempts = new SqliteAuthAttemptRepository(db);
    this.authTokens = new SqliteAuthTokenRepository(db);
  }

  static open(dataDir: string): SqliteStore {
    return new SqliteStore(openDatabase(path.join(dataDir, SQLITE_FILE_NAME)), path.join(dataDir, RESERVATION_JOURNAL_FILE_NAME));
  }

  /** The monitor's repositories on this store's connection. */
  /** One process per data dir (the data-dir lock): it always leads. */
  leaderLease(): LeaderLease {
    return SOLE_LEADER;
  }

  monitorRepositories(): MonitorRepositories {
    return { rollups: new SqliteRollupRepository(this.db), alerts: new SqliteAlertRepository(this.db), seen: new SqliteSeenRepository(this.db) };
  }

  auditRepository(anchorFile: string | null): AuditRepository {
    return new SqliteAuditRepository(this.db, { anchorFile });
  }

  flushSpend(): Promise<void> {
    this.spend.flushSettlements();
    return Promise.resolve();
  }

  close(): Promise<void> {
    if (this.db.open) {
      this.spend.close();
      this.keys.close();
      this.db.close();
    }
    return Promise.resolve();
  }
}
