import type { UsageRecord, UsageRepository } from '../store/index.js';

export interface UsageRecorderOptions {
  flushIntervalMs: number;
  /** Called when a flush fails; records stay queued and are retried, never dropped. */
  onError: (err: unknown) => void;
  /** Called after each successful flush with the records written (monitoring hooks in here, off the hot path). */
  onFlushed?: (records: readonly UsageRecord[]) => void;
}

/**
 * Queues usage records on the hot path and writes them in one transaction per interval. The interval (20 ms by
 * default, at most 100 ms) bounds what a kill -9 can lose: a record queued 100 ms before the kill is already on
 * disk. A failed write keeps the batch queued for the next attempt.
 */
export class UsageRecorder {
  private queue: UsageRecord[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly repo: UsageRepository,
    private readonly options: UsageRecorderOptions,
  ) {}

  record(record: UsageRecord): void {
    this.queue.push(record);
    if (this.timer === null && !this.closed) {
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.flush();
      }, this.options.flushIntervalMs);
    }
  }

  get pending(): number {
    return this.queue.length;
  }

  async flush(): Promise<void> {
    if (this.flushing) await this.flushing;
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.flushing = this.write(batch)
      .then(() => this.options.onFlushed?.(batch))
      .catch((err: unknown) => {
        this.queue = batch.concat(this.queue);
        this.options.onError(err);
        if (!this.closed && this.timer === null) {
          this.timer = setTimeout(() => {
            this.timer = null;
            void this.flush();
          }, this.options.flushIntervalMs * 5);
        }
      })
      .finally(() => {
        this.flushing = null;
      });
    await this.flushing;
  }

  /** The repository's write as a promise even if it throws synchronously (a sync throw would drop the batch). */
  private write(batch: UsageRecord[]): Promise<void> {
    try {
      return this.repo.insertMany(batch);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.flush();
  }
}
