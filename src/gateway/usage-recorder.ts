import type { UsageRecord, UsageRepository } from '../store/index.js';
import type { UsageOutageBuffer } from '../store/outage/usage-outage-buffer.js';

export interface UsageRecorderOptions {
  flushIntervalMs: number;
  /** Called when a flush fails; records stay queued and are retried, never dropped. */
  onError: (err: unknown) => void;
  /** Called after each successful flush with the records written (monitoring hooks in here, off the hot path). */
  onFlushed?: (records: readonly UsageRecord[]) => void;
  /** Bounds the queue while writes fail (memory, then a spill file); without it the queue is bounded by memory only. */
  outage?: UsageOutageBuffer;
}

/**
 * Queues usage records on the hot path and writes them in one transaction per interval. The interval (20 ms by
 * default, at most 100 ms) bounds what a kill -9 can lose: a record queued 100 ms before the kill is already on
 * disk. A failed write keeps the batch queued for the next attempt; while writes fail, the outage buffer moves the
 * queue to its spill file whenever it grows past its bound, and the file is replayed (oldest first) before the
 * queue once writes succeed again.
 */
export class UsageRecorder {
  private queue: UsageRecord[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private closed = false;
  /** Queue length past which records are spilled: infinite while writes succeed (one comparison per record). */
  private spillAt = Number.POSITIVE_INFINITY;
  /** A batch taken from the queue is being written: spilling now would put newer records before it on disk. */
  private batchInFlight = false;

  constructor(
    private readonly repo: UsageRepository,
    private readonly options: UsageRecorderOptions,
  ) {
    // Records a previous process spilled (it died during an outage) are replayed on the first flush.
    if (options.outage?.hasSpilled) this.schedule(options.flushIntervalMs);
  }

  record(record: UsageRecord): void {
    this.queue.push(record);
    if (this.queue.length > this.spillAt && !this.batchInFlight) this.spill();
    this.schedule(this.options.flushIntervalMs);
  }

  get pending(): number {
    return this.queue.length;
  }

  /** The outage buffer is full: requests with limits or budgets are refused until it has been replayed. */
  get full(): boolean {
    return this.options.outage?.full === true;
  }

  async flush(): Promise<void> {
    if (this.flushing) await this.flushing;
    if (this.queue.length === 0 && this.options.outage?.hasSpilled !== true) return;
    this.flushing = this.write().finally(() => {
      this.flushing = null;
    });
    await this.flushing;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.flush();
    // Still failing at shutdown: what is left goes to the spill file for the next start, rather than being lost.
    const outage = this.options.outage;
    if (outage && this.queue.length > 0) this.queue = this.queue.slice(outage.spill(this.queue));
  }

  private async write(): Promise<void> {
    const outage = this.options.outage;
    let batch: UsageRecord[] = [];
    try {
      // Writes are failing: the queue goes to disk first, so memory stays bounded while this attempt is in flight
      // and the file replays everything in order.
      if (this.spillAt !== Number.POSITIVE_INFINITY) this.spill();
      if (outage?.hasSpilled) {
        await outage.replay(async (records) => {
          await this.repo.insertMany(records);
          this.options.onFlushed?.(records);
        });
      }
      batch = this.queue;
      this.queue = [];
      if (batch.length > 0) {
        this.batchInFlight = true;
        await this.repo.insertMany(batch);
        this.options.onFlushed?.(batch);
      }
      this.spillAt = Number.POSITIVE_INFINITY;
    } catch (err) {
      this.queue = batch.length > 0 ? batch.concat(this.queue) : this.queue;
      this.options.onError(err);
      if (outage) {
        this.spillAt = outage.maxRecords;
        if (this.queue.length > this.spillAt) this.spill();
      }
      this.schedule(this.options.flushIntervalMs * 5);
    } finally {
      this.batchInFlight = false;
    }
  }

  /** Moves the queue to the spill file; what does not fit (the file is at its bound) stays in memory, never dropped. */
  private spill(): void {
    const outage = this.options.outage;
    // Full: the file is at its bound until the store returns; trying again on every record would only cost CPU.
    if (outage && !outage.full) this.queue = this.queue.slice(outage.spill(this.queue));
  }

  private schedule(delayMs: number): void {
    if (this.timer !== null || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, delayMs);
  }
}
