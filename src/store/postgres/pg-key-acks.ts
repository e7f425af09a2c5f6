import type { PgDatabase } from './pg-database.js';
import { INSTANCE_LOCK_CLASS } from './pg-database.js';
import type { KeyPropagation } from '../key-propagation.js';

/** Each replica answers every key notification here with `instanceLock:version` once its memo is emptied. */
export const KEY_ACK_CHANNEL = 'keywarden_key_acks';

interface LiveInstance {
  lock: number;
  name: string;
}

/**
 * Live = its session advisory lock (INSTANCE_LOCK_CLASS, instance lock) is held, so a dead replica never delays
 * anyone: PostgreSQL drops the lock with its connection. Only this database's locks (a server may host several).
 */
const LIVE_SQL = `SELECT (SELECT version FROM key_version) AS version,
  coalesce(json_agg(json_build_object('lock', l.objid::bigint, 'name', coalesce(a.application_name, ''))) FILTER (WHERE l.objid IS NOT NULL), '[]') AS live
  FROM (SELECT 1) one
  LEFT JOIN pg_locks l ON l.locktype = 'advisory' AND l.granted AND l.classid = $1::bigint::oid AND l.objsubid = 2
    AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  LEFT JOIN pg_stat_activity a ON a.pid = l.pid`;

/** How often the live set is read again during a wait: a replica that dies meanwhile stops being waited for. */
const RECHECK_MS = 100;

/**
 * The acks this replica has heard (highest version per instance) and the post-commit wait of an admin key change.
 * Acks are heard all the time (the listener LISTENs from its start), so one that arrives before the wait begins is
 * not missed. The database is trusted: anyone who can NOTIFY on it could forge an ack, but could also edit keys.
 */
export class KeyAckTracker {
  private readonly acked = new Map<number, number>();
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly db: PgDatabase,
    private readonly selfLock: number,
  ) {}

  /** An ack notification's payload (`instanceLock:version`); anything malformed is ignored. */
  heard(payload: string): void {
    const match = /^(\d{1,10}):(\d{1,19})$/.exec(payload);
    if (!match) return;
    const lock = Number(match[1]);
    const version = Number(match[2]);
    if ((this.acked.get(lock) ?? -1) >= version) return;
    this.acked.set(lock, version);
    for (const wake of this.waiters) wake();
  }

  /**
   * Waits until every other live replica has acknowledged the key version current now (after the caller's commit),
   * or timeoutMs passes. Never throws for a slow replica: the change is committed either way.
   */
  async waitForAll(timeoutMs: number): Promise<KeyPropagation> {
    const deadline = performance.now() + timeoutMs;
    const first = await this.readLive();
    const version = first.version;
    let live = first.live;
    for (;;) {
      const missing = live.filter((i) => (this.acked.get(i.lock) ?? -1) < version);
      const remaining = deadline - performance.now();
      if (missing.length === 0 || remaining <= 0) {
        this.forgetGone(live);
        return { acknowledged: live.length - missing.length, live: live.length, missing: missing.map((i) => i.name || `instance ${i.lock}`) };
      }
      await this.nextAckOr(Math.min(remaining, RECHECK_MS));
      if (live.some((i) => (this.acked.get(i.lock) ?? -1) < version)) ({ live } = await this.readLive());
    }
  }

  private async readLive(): Promise<{ version: number; live: LiveInstance[] }> {
    const row = await this.db.one<{ version: string | number; live: Array<{ lock: number; name: string }> }>(LIVE_SQL, [INSTANCE_LOCK_CLASS]);
    const live = (row?.live ?? []).filter((i) => Number(i.lock) !== this.selfLock).map((i) => ({ lock: Number(i.lock), name: i.name }));
    return { version: Number(row?.version ?? 0), live };
  }

  private nextAckOr(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }

  /** Keeps the map to live instances (replicas come and go with random lock numbers). */
  private forgetGone(live: LiveInstance[]): void {
    if (this.acked.size <= live.length + 16) return;
    const keep = new Set(live.map((i) => i.lock));
    for (const lock of this.acked.keys()) if (!keep.has(lock)) this.acked.delete(lock);
  }
}
