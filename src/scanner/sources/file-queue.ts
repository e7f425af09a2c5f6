import type { WalkedFile } from './walk.js';

/**
 * The bounded hand-over between the directory walk and the scanners. The walk pushes files as it lists them and
 * waits when the queue is full (so a huge tree never sits in memory twice); scanners take batches as they free up.
 */
export class FileQueue {
  private files: WalkedFile[] = [];
  private head = 0;
  private closed = false;
  private failure: Error | undefined;
  private takers: Array<() => void> = [];
  /** Several directory reads run at once, so several pushes can be waiting for room. */
  private pushers: Array<() => void> = [];
  /** Files listed so far, for the decision to start worker threads. */
  listed = 0;

  constructor(private readonly capacity: number) {}

  get length(): number {
    return this.files.length - this.head;
  }

  get done(): boolean {
    return this.closed;
  }

  /** Adds a file; the returned promise (only when the queue is full) resolves once there is room again. */
  push(file: WalkedFile): Promise<void> | undefined {
    this.files.push(file);
    this.listed++;
    this.wakeTaker();
    if (this.length < this.capacity) return undefined;
    return new Promise((resolve) => {
      this.pushers.push(resolve);
    });
  }

  /** No more files will come (or the walk failed: the failure is thrown to the next taker). */
  close(failure?: unknown): void {
    this.closed = true;
    if (failure !== undefined) this.failure = failure instanceof Error ? failure : new Error('listing failed');
    this.wakeTaker();
  }

  /** Up to `max` files, waiting while the queue is empty and the walk goes on; undefined at the end. */
  async take(max: number): Promise<WalkedFile[] | undefined> {
    while (this.length === 0) {
      if (this.failure !== undefined) throw this.failure;
      if (this.closed) return undefined;
      await new Promise<void>((resolve) => {
        this.takers.push(resolve);
      });
    }
    const end = Math.min(this.files.length, this.head + max);
    const batch = this.files.slice(this.head, end);
    this.head = end;
    // Compact now and then, so a long walk does not keep every taken entry alive.
    if (this.head > 4096 && this.head * 2 > this.files.length) {
      this.files = this.files.slice(this.head);
      this.head = 0;
    }
    if (this.length < this.capacity && this.pushers.length > 0) {
      const pushers = this.pushers;
      this.pushers = [];
      for (const resume of pushers) resume();
    }
    return batch;
  }

  private wakeTaker(): void {
    if (this.takers.length === 0) return;
    const takers = this.takers;
    this.takers = [];
    for (const resume of takers) resume();
  }
}
