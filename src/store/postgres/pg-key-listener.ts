import type pg from 'pg';
import { INSTANCE_LOCK_CLASS, type PgDatabase } from './pg-database.js';

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
      if (message.channel !== KEY_CHANNEL || message.payload === undefined) return;
      const split = message.payload.lastIndexOf(':');
      this.events.onChange({ keyId: message.payload.slice(0, split), version: Number(message.payload.slice(split + 1)) });
    });
    try {
      await client.connect();
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
