import { closeSync, fsync, fsyncSync } from 'node:fs';

/** Called once the data written before the request is on stable storage, or with the error of the fsync that failed. */
export type DurableCallback = (error: Error | null) => void;

/** `fs.fsync`'s shape (tests pass one they complete by hand). */
export type FsyncFunction = (fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => void;

/**
 * fsync of one file through libuv's threadpool, coalesced: at most one fsync runs at a time, and every callback
 * registered while it runs waits for the next one, which starts after it returns. fsync flushes the whole inode, so
 * a callback runs only after an fsync that *started after it was registered*: everything written to the file before
 * `afterDurable()` was called is on stable storage by then. The event loop never waits for the disk.
 *
 * An fsync error is passed to that fsync's callbacks (never swallowed); the next request tries again with a new
 * fsync. (After a failed fsync Linux may report a later one as successful though the earlier pages were lost, so a
 * caller must not treat a later success as covering an earlier failure: each callback sees only its own fsync.)
 */
export class CoalescedFsync {
  private busy = false;
  /** Callbacks of the fsync that is running. */
  private running: DurableCallback[] = [];
  private waiting: DurableCallback[] = [];
  /** Descriptors replaced while an fsync ran on them: closed when it returns (closing earlier could let the number be reused). */
  private retired: number[] = [];
  /**
   * Something may have been written since the last fsync started (or that fsync failed). Always true for a file
   * whose writer does not report its writes (`tracksWrites` off): then every request gets an fsync of its own.
   */
  private dirty = true;

  constructor(
    private fd: number | null,
    private readonly fsyncFile: FsyncFunction = fsync,
    /** The writer calls `noteWrite()` after each write, so a request with nothing new to flush costs no fsync. */
    private readonly tracksWrites = false,
  ) {}

  /** Data was written to the file (only meaningful with `tracksWrites`). */
  noteWrite(): void {
    this.dirty = true;
  }

  /** True when no fsync is running or waiting. */
  get idle(): boolean {
    return !this.busy && this.waiting.length === 0;
  }

  /**
   * `callback` runs after an fsync that starts after this call; at once (synchronously) without a file. With
   * `tracksWrites`, when nothing was written since the running fsync started, it runs after that one; when nothing
   * was written since the last fsync, which succeeded, at once.
   */
  afterDurable(callback: DurableCallback): void {
    if (this.fd === null) {
      callback(null);
      return;
    }
    if (this.tracksWrites && !this.dirty) {
      if (this.busy) this.running.push(callback);
      else callback(null);
      return;
    }
    this.waiting.push(callback);
    if (!this.busy) this.start();
  }

  private start(): void {
    const fd = this.fd;
    if (fd === null) return;
    this.running = this.waiting;
    this.waiting = [];
    this.busy = true;
    // Writes from here on are not covered by this fsync: they mark the file dirty again.
    if (this.tracksWrites) this.dirty = false;
    this.fsyncFile(fd, (error) => {
      this.busy = false;
      // A failed fsync covers nothing: the next request fsyncs again.
      if (error) this.dirty = true;
      // Empty when syncNow() answered them already (shutdown).
      const batch = this.running;
      this.running = [];
      this.closeRetired();
      for (const callback of batch) callback(error);
      if (!this.busy && this.waiting.length > 0) this.start();
    });
  }

  /**
   * Synchronous fsync on the calling thread, for shutdown: answers every running and waiting callback with its
   * result. Throws what fsyncSync throws after answering them with it.
   */
  syncNow(): void {
    const callbacks = [...this.running, ...this.waiting];
    this.running = [];
    this.waiting = [];
    let failure: Error | null = null;
    try {
      if (this.fd !== null) fsyncSync(this.fd);
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
    }
    if (this.tracksWrites && failure === null && !this.busy) this.dirty = false;
    for (const callback of callbacks) callback(failure);
    if (failure) throw failure;
  }

  /** Points at a new descriptor (the file was rewritten); the old one is closed once no fsync uses it. */
  replace(fd: number | null): void {
    if (this.fd !== null) this.retired.push(this.fd);
    this.fd = fd;
    if (!this.busy) this.closeRetired();
  }

  private closeRetired(): void {
    for (const fd of this.retired) closeSync(fd);
    this.retired = [];
  }
}
