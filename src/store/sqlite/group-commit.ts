/**
 * Group commit: operations queued in the same event-loop turn run in one SQLite transaction (one fsync), and each
 * caller's promise settles when that transaction has committed. Under load many requests share one fsync; a lone
 * request waits only for its own.
 */
export class GroupCommit<Op> {
  private queue: Array<{ op: Op; resolve: () => void; reject: (err: unknown) => void }> = [];
  private scheduled = false;

  constructor(private readonly runBatch: (ops: readonly Op[]) => void) {}

  submit(op: Op): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ op, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    try {
      this.runBatch(batch.map((entry) => entry.op));
    } catch (err) {
      for (const entry of batch) entry.reject(err);
      return;
    }
    for (const entry of batch) entry.resolve();
  }
}
