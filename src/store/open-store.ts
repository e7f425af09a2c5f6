import type { AuditRepository } from '../audit/types.js';
import type { LeaderLease } from '../cluster/leader-lease.js';
import type { MonitorRepositories } from '../monitor/engine.js';
import type { StoreConfig } from './store-config.js';
import type { Store } from './types.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import { PostgresStore } from './postgres/postgres-store.js';

/** A Store plus what the server builds on the same database: the monitor's repositories and the audit chain. */
export interface StoreBackend extends Store {
  readonly kind: 'sqlite' | 'postgres';
  monitorRepositories(): MonitorRepositories;
  /** `anchorFile`: SQLite keeps a copy of the audit anchor there; PostgreSQL keeps it in its meta table only. */
  auditRepository(anchorFile: string | null): AuditRepository;
  /** State of the store's external dependency for /readyz (`{ postgres: 'up' }`); absent for SQLite. */
  dependencies?(): Record<string, string>;
  /** Runs `fn` while no other replica runs its first-start duties (PostgreSQL); absent for SQLite (one process). */
  exclusiveStartup?<T>(fn: () => Promise<T>): Promise<T>;
  /** The lease deciding which replica runs `job` (one per deployment); SQLite's single process always holds it. */
  leaderLease(job: string, onChange?: (leader: boolean) => void): LeaderLease;
  /** Commits queued spend settlements now (tests, shutdown). */
  flushSpend(): Promise<void>;
}

/** The one place the store is chosen: PostgreSQL when `store.url` (KEYWARDEN_DATABASE_URL) is set, else SQLite in dataDir. */
export async function openStore(config: { dataDir: string; store: StoreConfig }): Promise<StoreBackend> {
  const url = config.store.url;
  if (url === undefined) return SqliteStore.open(config.dataDir);
  return PostgresStore.open({
    url,
    max: config.store.poolSize,
    connectTimeoutMs: config.store.connectTimeoutMs,
    propagationTimeoutMs: config.store.propagationTimeoutMs,
    keyCache: {
      versionCheckMs: config.store.keyVersionCheckMs,
      maxStaleMs: Math.max(1000, config.store.keyVersionCheckMs * 4),
      outageGraceMs: config.store.outageKeyCacheMs,
    },
  });
}
