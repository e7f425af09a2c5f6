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

/** Runs tasks on `workers` threads (0 = in-process), handing the next task to whichever thread is free. */
export async function runTasks(
  tasks: readonly ScanTask[],
  init: RunnerInit,
  workers: number,
  onResult: (result: TaskResult) => void,
): Promise<void> {
  const threads = Math.min(workers, tasks.length);
  if (threads <= 0 || !workersAvailable()) {
    const runner = createTaskRunner(init);
    try {
      for (const task of tasks) onResult(await runner.run(task));
    } finally {
      runner.close();
    }
    return;
  }
  let next = 0;
  const runThread = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const worker = new Worker(WORKER_URL, { workerData: init });
      const feed = (): void => {
        const task = tasks[next++];
        if (task === undefined) {
          worker.postMessage({ close: true });
          return;
        }
        worker.postMessage({ task });
      };
      worker.on('message', (reply: WorkerReply) => {
        if ('error' in reply) {
          reject(new KeywardenError('KW_INTERNAL', { message: 'A scan worker failed.' }));
          void worker.terminate();
          return;
        }
        onResult(reply.result);
        feed();
      });
      worker.on('error', () => reject(new KeywardenError('KW_INTERNAL', { message: 'A scan worker crashed.' })));
      worker.on('exit', () => resolve());
      feed();
    });
  await Promise.all(Array.from({ length: threads }, runThread));
}
