import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { KeywardenError } from '../../errors/index.js';
import { createTaskRunner, type RunnerInit, type ScanTask, type TaskResult } from './task-runner.js';

const WORKER_URL = new URL('./scan-worker.js', import.meta.url);

/**
 * The compiled worker script exists when running from dist/. When the TypeScript sources run directly (vitest,
 * tsx) there is no .js worker to start, so tasks run in-process with the same runner: same results, one core.
 */
export function workersAvailable(): boolean {
  return existsSync(fileURLToPath(WORKER_URL));
}

type WorkerReply = { result: TaskResult } | { error: string };

/** Where tasks come from: produced on demand, so blob tasks are read from git only as threads need them. */
export type TaskSource = () => Promise<ScanTask | undefined>;

function transferList(task: ScanTask): ArrayBuffer[] {
  return task.kind === 'blobs' && task.data.buffer instanceof ArrayBuffer ? [task.data.buffer] : [];
}

/** How many scan worker threads this process has started (reported with KEYWARDEN_SCAN_STATS=1, and by tests). */
export const scanThreadStats = { started: 0 };

/** Runs tasks on one new worker thread until `nextTask` runs dry; resolves when the thread has exited. */
export function runOnWorkerThread(nextTask: TaskSource, init: RunnerInit, onResult: (result: TaskResult) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    scanThreadStats.started++;
    const worker = new Worker(WORKER_URL, { workerData: init });
    let inFlight = 0;
    const feed = (): void => {
      inFlight++;
      nextTask().then(
        (task) => {
          if (task === undefined) {
            if (--inFlight === 0) worker.postMessage({ close: true });
            return;
          }
          worker.postMessage({ task }, transferList(task));
        },
        (err: unknown) => {
          reject(err instanceof Error ? err : new KeywardenError('KW_INTERNAL'));
          void worker.terminate();
        },
      );
    };
    worker.on('message', (reply: WorkerReply) => {
      if ('error' in reply) {
        reject(new KeywardenError('KW_INTERNAL', { message: 'A scan worker failed.' }));
        void worker.terminate();
        return;
      }
      inFlight--;
      onResult(reply.result);
      feed();
    });
    worker.on('error', () => reject(new KeywardenError('KW_INTERNAL', { message: 'A scan worker crashed.' })));
    worker.on('exit', () => resolve());
    // Two tasks in flight per thread, so the next batch is already being read (or decompressed by git)
    // while the current one is scanned.
    feed();
    feed();
  });
}

/** Runs tasks on `workers` threads (0 = in-process), handing the next task to whichever thread is free. */
export async function runTasks(
  nextTask: TaskSource,
  init: RunnerInit,
  workers: number,
  onResult: (result: TaskResult) => void,
): Promise<void> {
  if (workers <= 0 || !workersAvailable()) {
    const runner = createTaskRunner(init);
    try {
      for (let task = await nextTask(); task !== undefined; task = await nextTask()) onResult(await runner.run(task));
    } finally {
      runner.close();
    }
    return;
  }
  await Promise.all(Array.from({ length: workers }, () => runOnWorkerThread(nextTask, init, onResult)));
}
