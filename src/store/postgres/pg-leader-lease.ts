import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { LeaderLease } from '../../cluster/leader-lease.js';
import type { PgDatabase } from './pg-database.js';

/** Advisory lock class of leader leases; the second key is derived from the job's name. */
export const LEADER_LOCK_CLASS = 0x6b770004;

/** A job name as the second advisory lock key (int4). */
function jobKey(job: string): number {
  return createHash('sha256').update(job).digest().readInt32BE(0);
}

export interface PgLeaderLeaseOptions {
  /** How often a follower tries to take the lease and the leader checks its connection (default 1 s). */
  beatMs?: number;
  /** Called when this process gains or loses the lease (logs, metrics). */
  onChange?: (leader: boolean) => void;
}

/**
 * Leadership through a session-level advisory lock on a connection of its own. PostgreSQL releases the lock the
 * moment that session ends, whether the replica stopped, crashed or lost its network, so a follower's next beat
 * takes over. The leader pings its session every beat: if the ping fails it stops calling itself leader at once,
 * before PostgreSQL notices the dead session, so two replicas are never both leaders by their own account for
 * longer than the server takes to drop the old session (and each leader-only step re-checks `isLeader`).
 */
export class PgLeaderLease implements LeaderLease {
  private client: pg.Client | null = null;
  private leader = false;
  private timer: NodeJS.Timeout | null = null;
  private beating: Promise<void> | null = null;
  private readonly key: number;
  private readonly beatMs: number;

  constructor(
    private readonly db: PgDatabase,
    job: string,
    private readonly options: PgLeaderLeaseOptions = {},
  ) {
    this.key = jobKey(job);
    this.beatMs = options.beatMs ?? 1000;
  }

  get isLeader(): boolean {
    return this.leader;
  }

  async start(): Promise<void> {
    if (this.timer) return;
    this.timer = setInterval(() => void this.beat(), this.beatMs);
    this.timer.unref();
    await this.beat();
  }

  /** One beat: a follower tries to take the lease; the leader checks that its session is still alive. */
  beat(): Promise<void> {
    this.beating ??= this.step().finally(() => {
      this.beating = null;
    });
    return this.beating;
  }

  private async step(): Promise<void> {
    try {
      const client = await this.connection();
      if (this.leader) {
        await client.query('SELECT 1');
        return;
      }
      const row = (await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [LEADER_LOCK_CLASS, this.key])).rows[0];
      if (row?.ok === true) this.set(true);
    } catch {
      // The session is gone or unusable: whatever lock it held is released with it. Start over on the next beat.
      this.set(false);
      this.drop();
    }
  }

  private async connection(): Promise<pg.Client> {
    if (this.client) return this.client;
    const client = this.db.newClient();
    // A session that dies between beats must not crash the process; the next beat notices.
    client.on('error', () => {
      this.set(false);
      if (this.client === client) this.drop();
    });
    this.client = client;
    await client.connect();
    return client;
  }

  private set(leader: boolean): void {
    if (this.leader === leader) return;
    this.leader = leader;
    this.options.onChange?.(leader);
  }

  private drop(): void {
    const client = this.client;
    this.client = null;
    client?.end().catch(() => undefined);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.beating;
    const client = this.client;
    this.client = null;
    this.set(false);
    // Ending the session releases the lock; no explicit unlock round trip is needed.
    await client?.end().catch(() => undefined);
  }
}
