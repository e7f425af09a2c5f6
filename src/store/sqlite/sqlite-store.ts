import path from 'node:path';
import type { Store } from '../types.js';
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

export const SQLITE_FILE_NAME = 'keywarden.sqlite';
export const RESERVATION_JOURNAL_FILE_NAME = 'reservations.journal';

/** The embedded default store: one SQLite file in WAL mode under the data directory. */
export class SqliteStore implements Store {
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
    this.spend = new SqliteSpendRepository(db, new ReservationJournal(journalFile));
    this.upstreams = new SqliteUpstreamRepository(db);
    this.usage = new SqliteUsageRepository(db);
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

  close(): Promise<void> {
    if (this.db.open) {
      this.spend.close();
      this.db.close();
    }
    return Promise.resolve();
  }
}
