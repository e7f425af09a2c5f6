import type pg from 'pg';
import { hostname } from 'node:os';
import { INSTANCE_LOCK_CLASS, type PgDatabase } from './pg-database.js';
import { KEY_ACK_CHANNEL } from './pg-key-acks.js';

export const KEY_CHANNEL = 'keywarden_keys';

export interface KeyChange {
  keyId: string;
  version: number;
}

export interface KeyListenerEvents {
  /** A key changed somewhere (this replica or another). */
  onChange(change: KeyChange): void;
  /** The connection is gone: notifications may be missed until `onUp`. */
  onDown(): void;
  /** Listening again (also the first time): anything may have changed meanwhile. */
  onUp(): void;
  /** Another replica (or this one) acknowledged key changes up to a version: `instanceLock:version`. */
  onAck?(payload: string): void;
}

const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 2000;

/**
 * One dedicated connection per store instance (outside the pool): LISTEN keywarden_keys for key changes, and a
 * session advisory lock on this instance's id, which tells other replicas that the reservations it owns are live
 * (pg-spend-repo.ts). Reconnects by itself with back-off; every (re)connect is reported so the cache starts over.
 */
export class PgKeyListener {
  private client: pg.Client | null = null;
  private retryMs = RETRY_MIN_MS;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private up = false;
  /** Highest key version evicted but not yet acknowledged on KEY_ACK_CHANNEL (-1: none). */
  private ackPending = -1;

  constructor(
    private readonly db: PgDatabase,
    readonly instanceLock: number,
    private readonly events: KeyListenerEvents,
  ) {}

  get listening(): boolean {
    return this.up;
  }

  /** Resolves once listening, or rejects when the first connection fails (retries continue in the background). */
  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = this.db.newClient();
    this.client = client;
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    client.on('notification', (message) => {
      if (message.payload === undefined) return;
      if (message.channel === KEY_ACK_CHANNEL) {
        this.events.onAck?.(message.payload);
        return;
      }
      if (message.channel !== KEY_CHANNEL) return;
      const split = message.payload.lastIndexOf(':');
      const version = Number(message.payload.slice(split + 1));
      // Evicted synchronously here; the ack goes out after, so an admin call waiting for it sees the eviction done.
      this.events.onChange({ keyId: message.payload.slice(0, split), version });
      this.acknowledge(client, version);
    });
    try {
      await client.connect();
      // Names this replica to an admin call whose wait for acks timed out (pg_stat_activity.application_name).
      await client.query("SELECT set_config('application_name', $1, false)", [`keywarden ${hostname()} pid ${process.pid}`.slice(0, 63)]);
      await client.query(`LISTEN ${KEY_ACK_CHANNEL}`);
      await client.query(`LISTEN ${KEY_CHANNEL}`);
      await client.query('SELECT pg_advisory_lock($1, $2)', [INSTANCE_LOCK_CLASS, this.instanceLock]);
    } catch (err) {
      this.lost(client);
      throw err;
    }
    if (this.stopped || this.client !== client) return;
    this.retryMs = RETRY_MIN_MS;
    this.up = true;
    this.events.onUp();
    // The memo was just emptied and LISTEN is on: every version committed so far is covered. A replica that came
    // up after a change's notification went out would otherwise never ack it, and hold an admin call to its timeout.
    client
      .query(`SELECT pg_notify('${KEY_ACK_CHANNEL}', $1 || ':' || version) FROM key_version`, [String(this.instanceLock)])
      .catch(() => this.lost(client));
  }

  /** One ack per burst of notifications (a transaction touching many keys sends one each): the highest version. */
  private acknowledge(client: pg.Client, version: number): void {
    if (!Number.isSafeInteger(version)) return;
    const scheduled = this.ackPending >= 0;
    if (version > this.ackPending) this.ackPending = version;
    if (scheduled) return;
    queueMicrotask(() => {
      const upTo = this.ackPending;
      this.ackPending = -1;
      if (this.client !== client) return;
      client.query('SELECT pg_notify($1, $2)', [KEY_ACK_CHANNEL, `${this.instanceLock}:${upTo}`]).catch(() => this.lost(client));
    });
  }

  private lost(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = null;
    this.up = false;
    client.removeAllListeners('notification');
    void client.end().catch(() => undefined);
    this.events.onDown();
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect().catch(() => undefined);
    }, this.retryMs);
    this.timer.unref();
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const client = this.client;
    this.client = null;
    this.up = false;
    if (client) await client.end().catch(() => undefined);
  }
}
