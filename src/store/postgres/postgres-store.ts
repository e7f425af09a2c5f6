import { randomInt } from 'node:crypto';
import type { AuditRepository } from '../../audit/types.js';
import type { MonitorRepositories } from '../../monitor/engine.js';
import type { Store } from '../types.js';
import { PgAdminTokenRepository } from './pg-admin-token-repo.js';
import { PgAlertRepository } from './pg-alert-repo.js';
import { PgAuditRepository } from './pg-audit-repo.js';
import { migratePg, PgDatabase, STARTUP_LOCK, type PgConnectionOptions } from './pg-database.js';
import { DEFAULT_KEY_CACHE_OPTIONS, PgKeyCache, type KeyCacheOptions } from './pg-key-cache.js';
import { PgKeyListener } from './pg-key-listener.js';
import { KeyAckTracker } from './pg-key-acks.js';
import type { KeyPropagation } from '../key-propagation.js';
import { PgKeyRepository } from './pg-key-repo.js';
import { PgLeaderLease } from './pg-leader-lease.js';
import type { LeaderLease } from '../../cluster/leader-lease.js';
import { PgMetaRepository } from './pg-meta-repo.js';
import { PgObjectRepository } from './pg-object-repo.js';
import { PgProjectRepository } from './pg-project-repo.js';
import { PgRollupRepository } from './pg-rollup-repo.js';
import { PgSeenRepository } from './pg-seen-repo.js';
import { PgSpendRepository } from './pg-spend-repo.js';
import { PgUpstreamRepository } from './pg-upstream-repo.js';
import { PgUsageRepository } from './pg-usage-repo.js';
import { PgUserRepository } from './pg-user-repo.js';
import { PgSessionRepository } from './pg-session-repo.js';
import { PgAuthAttemptRepository } from './pg-auth-attempt-repo.js';
import { PgAuthTokenRepository } from './pg-auth-token-repo.js';

export interface PostgresStoreOptions extends PgConnectionOptions {
  keyCache?: KeyCacheOptions;
  /** How long an admin key change waits for the other live replicas to acknowledge it (store.propagationTimeoutMs). */
  propagationTimeoutMs?: number;
}

/** True for the URLs this store accepts (postgres:// or postgresql://). */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(?:ql)?:\/\//i.test(url);
}

/**
 * The shared store for several replicas: one PostgreSQL database. Open with `PostgresStore.open`, which migrates
 * the schema and starts listening for key changes before it resolves.
 */
export class PostgresStore implements Store {
  readonly kind = 'postgres';
  readonly keys: PgKeyRepository;
  readonly spend: PgSpendRepository;
  readonly upstreams: PgUpstreamRepository;
  readonly usage: PgUsageRepository;
  readonly adminTokens: PgAdminTokenRepository;
  readonly meta: PgMetaRepository;
  readonly objects: PgObjectRepository;
  readonly projects: PgProjectRepository;
  readonly users: PgUserRepository;
  readonly sessions: PgSessionRepository;
  readonly authAttempts: PgAuthAttemptRepository;
  readonly authTokens: PgAuthTokenRepository;
  readonly keyCache: PgKeyCache;
  private readonly listener: PgKeyListener;
  private readonly acks: KeyAckTracker;
  private closed = false;

  private constructor(
    readonly db: PgDatabase,
    keyCache: KeyCacheOptions,
    private readonly propagationTimeoutMs: number,
  ) {
    // Random per process: names this instance's reservations and its liveness lock (never 0, the "dead" owner).
    const instanceLock = randomInt(1, 2 ** 31 - 1);
    this.keyCache = new PgKeyCache(db, keyCache);
    this.acks = new KeyAckTracker(db, instanceLock);
    this.listener = new PgKeyListener(db, instanceLock, {
      onChange: (change) => this.keyCache.onChange(change),
      onDown: () => this.keyCache.onDown(),
      onUp: () => this.keyCache.onUp(),
      onAck: (payload) => this.acks.heard(payload),
    });
    this.keys = new PgKeyRepository(db, this.keyCache);
    this.spend = new PgSpendRepository(db, instanceLock);
    this.upstreams = new PgUpstreamRepository(db);
    this.usage = new PgUsageRepository(db);
    this.adminTokens = new PgAdminTokenRepository(db);
    this.meta = new PgMetaRepository(db);
    this.objects = new PgObjectRepository(db);
    this.projects = new PgProjectRepository(db);
    this.users = new PgUserRepository(db);
    this.sessions = new PgSessionRepository(db);
    this.authAttempts = new PgAuthAttemptRepository(db);
    this.authTokens = new PgAuthTokenRepository(db);
  }

  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const db = new PgDatabase(options);
    try {
      await migratePg(db);
      const store = new PostgresStore(db, options.keyCache ?? DEFAULT_KEY_CACHE_OPTIONS, options.propagationTimeoutMs ?? 2000);
      await store.listener.start();
      await store.keyCache.start();
      return store;
    } catch (err) {
      await db.close().catch(() => undefined);
      throw err;
    }
  }

  /** A session advisory lock per job: the replica holding it runs that job (see pg-leader-lease.ts). */
  leaderLease(job: string, onChange?: (leader: boolean) => void): LeaderLease {
    return new PgLeaderLease(this.db, job, onChange ? { onChange } : {});
  }

  /** The monitor's repositories on this database. */
  monitorRepositories(): MonitorRepositories {
    return { rollups: new PgRollupRepository(this.db), alerts: new PgAlertRepository(this.db), seen: new PgSeenRepository(this.db) };
  }

  /** The audit chain; its anchor is kept in the meta table only (shared by the replicas), never in a file. */
  auditRepository(_anchorFile?: string | null): AuditRepository {
    return new PgAuditRepository(this.db);
  }

  flushSpend(): Promise<void> {
    return this.spend.flushSettlements();
  }

  /**
   * Runs first-start duties (creating the vault data key, importing OPENAI_API_KEY, registering the env admin
   * token) under a cluster-wide advisory lock: replicas starting together on an empty database must not each
   * create their own vault data key.
   */
  async exclusiveStartup<T>(fn: () => Promise<T>): Promise<T> {
    const client = this.db.newClient();
    await client.connect();
    try {
      await client.query('SELECT pg_advisory_lock($1)', [STARTUP_LOCK]);
      return await fn();
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** For /readyz: the database as this replica sees it. */
  dependencies(): Record<string, string> {
    return { postgres: this.keyCache.reachable ? 'up' : 'down' };
  }

  /**
   * After a committed key change: waits (bounded) until every other live replica has emptied its key memo, so the
   * next request anywhere sees the change (pg-key-acks.ts).
   */
  awaitKeyPropagation(): Promise<KeyPropagation> {
    return this.acks.waitForAll(this.propagationTimeoutMs);
  }

  /** Whether the key-change channel is connected. */
  get listening(): boolean {
    return this.listener.listening;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.keyCache.stop();
    await this.spend.close().catch(() => undefined);
    await this.listener.stop();
    await this.db.close();
  }
}
