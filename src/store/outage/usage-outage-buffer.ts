import { KeywardenError } from '../../errors/index.js';
import type { UsageRecord } from '../types.js';
import type { SpillReplayResult, UsageSpillFile } from './usage-spill-file.js';

/** What the buffer reports when it fills up (disk bound reached) and when it is empty again after replay. */
export interface OutageBufferState {
  full: boolean;
  /** Bytes in the spill file when the state changed. */
  spillBytes: number;
  /** Requests refused while full (reported when the buffer is no longer full). */
  refusedRequests: number;
}

export interface UsageOutageBufferOptions {
  /** Records kept in memory while writes fail; beyond this they go to the spill file. */
  maxRecords: number;
  spill: UsageSpillFile;
  /** Called once when the buffer fills up and once when it has been replayed: an operator must hear of both. */
  onStateChange?: (state: OutageBufferState) => void;
}

/**
 * Bounds the usage queue while the store cannot be written (a PostgreSQL outage): `maxRecords` in memory, then an
 * append-only file up to its byte bound. Past both, requests on keys with limits or budgets are refused with 503
 * (fail closed: a budget must not be spent on requests whose cost could not be recorded); records that still
 * arrive (keys without limits, requests already in flight) stay in memory rather than being dropped.
 */
export class UsageOutageBuffer {
  readonly maxRecords: number;
  private isFull = false;
  private refused = 0;

  constructor(private readonly options: UsageOutageBufferOptions) {
    this.maxRecords = options.maxRecords;
  }

  get full(): boolean {
    return this.isFull;
  }

  /** Records from an earlier outage (or an earlier process) are waiting on disk. */
  get hasSpilled(): boolean {
    return this.options.spill.hasRecords;
  }

  /**
   * Moves as many of `records` (oldest first) as fit to the spill file and returns how many; fewer than all and the
   * buffer reports itself full.
   */
  spill(records: readonly UsageRecord[]): number {
    const written = this.options.spill.append(records);
    if (written < records.length && !this.isFull) {
      this.isFull = true;
      this.options.onStateChange?.({ full: true, spillBytes: this.options.spill.bytes, refusedRequests: 0 });
    }
    return written;
  }

  /** Writes the spilled records through `write`, in order, then deletes the file; the buffer is no longer full. */
  async replay(write: (records: UsageRecord[]) => Promise<void>): Promise<SpillReplayResult> {
    const spillBytes = this.options.spill.bytes;
    const result = await this.options.spill.replay(write);
    if (this.isFull) {
      this.isFull = false;
      const refusedRequests = this.refused;
      this.refused = 0;
      this.options.onStateChange?.({ full: false, spillBytes, refusedRequests });
    }
    return result;
  }

  /** Called by the gateway for a request with limits or budgets while the buffer is full. */
  refuse(): never {
    this.refused++;
    throw new KeywardenError('KW_STORE_UNAVAILABLE', { message: 'Usage cannot be recorded right now (the database is unreachable and the outage buffer is full); try again shortly.' });
  }
}
