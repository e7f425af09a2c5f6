import type { VirtualKeyRecord } from '../types.js';
import type { PgDatabase } from './pg-database.js';
import { isUnavailable } from './pg-errors.js';
import type { KeyChange } from './pg-key-listener.js';

/** Lookups remembered between two key changes; past this many the memo starts over. */
const MEMO_LIMIT = 10_000;

export interface KeyCacheOptions {
  /** How often the key version counter is read, as a safety net for a missed notification. */
  versionCheckMs: number;
  /** Remembered lookups are used only while the last successful version check is at most this old. */
  maxStaleMs: number;
  /**
   * With the database unreachable (not merely the notification connection), keys already remembered keep working
   * for at most this long after the last successful check; 0: never. Nobody can revoke a key meanwhile either:
   * admin writes answer 503 store_unavailable.
   */
  outageGraceMs: number;
}

export const DEFAULT_KEY_CACHE_OPTIONS: KeyCacheOptions = { versionCheckMs: 250, maxStaleMs: 1000, outageGraceMs: 30_000 };

/**
 * The per-replica memo of findByHash. A revocation on any replica must be refused everywhere on the next request:
 * - every change to virtual_keys fires a trigger that bumps key_version and NOTIFYs keywarden_keys; each replica
 *   LISTENs and empties its memo when told (well under 100 ms);
 * - the memo is only trusted while the LISTEN connection is up AND key_version was read successfully within
 *   maxStaleMs (read every versionCheckMs); a moved version empties it. So a lost notification keeps a revoked key
 *   alive for at most about versionCheckMs, and a broken connection for none: lookups then go to the database.
 */
export class PgKeyCache {
  private readonly memo = new Map<string, VirtualKeyRecord>();
  /** Bumped on every change: a lookup that started before a change is not remembered. */
  generation = 0;
  private listening = false;
  private knownVersion = -1;
  private checkedAt = -Infinity;
  private timer: NodeJS.Timeout | null = null;
  private checking = false;
  /** The last version check failed because the database could not be reached. */
  private unreachable = false;

  constructor(
    private readonly db: PgDatabase,
    private readonly options: KeyCacheOptions = DEFAULT_KEY_CACHE_OPTIONS,
  ) {}

  get(hash: string): VirtualKeyRecord | undefined {
    const age = performance.now() - this.checkedAt;
    if (this.listening && age <= this.options.maxStaleMs) return this.memo.get(hash);
    if (this.unreachable && age <= this.options.outageGraceMs) return this.memo.get(hash);
    return undefined;
  }

  /**
   * A lookup found the database unreachable before the next version check did (the moment PostgreSQL goes away,
   * between the LISTEN connection dropping and the check failing): the outage grace applies from now on.
   */
  markUnreachable(): void {
    this.unreachable = true;
  }

  /** False while the database cannot be reached (for /readyz). */
  get reachable(): boolean {
    return !this.unreachable;
  }

  remember(hash: string, record: VirtualKeyRecord, generation: number): void {
    if (generation !== this.generation || !this.listening) return;
    if (this.memo.size >= MEMO_LIMIT) this.memo.clear();
    this.memo.set(hash, record);
  }

  /** A key changed through this replica: forget at once, before the notification comes back. */
  changedHere(): void {
    this.forget();
  }

  onChange(change: KeyChange): void {
    this.forget();
    if (change.version > this.knownVersion) this.knownVersion = change.version;
  }

  /** Notifications may be missed from now on: the memo is no longer trusted (kept only for an outage, see get). */
  onDown(): void {
    this.listening = false;
    this.generation++;
    // Find out now whether the database itself is gone (outage grace) or only this connection.
    if (this.timer) void this.checkVersion();
  }

  onUp(): void {
    this.forget();
    this.listening = true;
  }

  /** Starts the periodic version check (first check before resolving). */
  async start(): Promise<void> {
    await this.checkVersion();
    this.timer = setInterval(() => void this.checkVersion(), this.options.versionCheckMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.listening = false;
    this.forget();
  }

  private async checkVersion(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    const startedAt = performance.now();
    try {
      const row = await this.db.one<{ version: number }>('SELECT version FROM key_version');
      const version = row?.version ?? 0;
      if (version !== this.knownVersion) {
        this.forget();
        this.knownVersion = version;
      }
      this.checkedAt = startedAt;
      this.unreachable = false;
    } catch (err) {
      // checkedAt ages out: the memo stops being trusted, except through a database outage's grace period.
      this.unreachable = isUnavailable(err) || isUnavailable((err as { cause?: unknown }).cause);
    } finally {
      this.checking = false;
    }
  }

  private forget(): void {
    this.generation++;
    this.memo.clear();
  }
}
