import { availableParallelism } from 'node:os';
import { createTaskRunner, type RunnerInit, type TaskResult } from './task-runner.js';
import { runOnWorkerThread, workersAvailable, type TaskSource } from './worker-pool.js';

/**
 * How much work pays for a thread: each costs 60–80 ms of start-up (loading and compiling the rules). The main
 * thread scans as fast as the walk lists, so the queue itself stays short: what counts is how many files the
 * walk has found with more still to come, or how many bytes the main thread has already scanned.
 */
export const WORKER_START_LISTED_FILES = 300;
export const WORKER_START_SCANNED_BYTES = 8 * 1024 * 1024;

/** What the scheduler can see of the work. */
export interface Backlog {
  /** Files listed so far (scanned or not). */
  listed(): number;
  /** Files listed and not yet handed to a scanner. */
  queued(): number;
  /** True once nothing more will be listed. */
  finished(): boolean;
}

/**
 * Worker threads to add to the main thread: the configured maximum, but never more than the cores beside the
 * main thread (which lists, dispatches and scans too). Always at least one when threads are allowed at all.
 */
export function workerThreadsFor(configured: number): number {
  if (configured <= 0) return 0;
  return Math.max(1, Math.min(configured, availableParallelism() - 1));
}

/**
 * Runs tasks on the main thread first and starts worker threads only once the work justifies them: many files
 * listed and waiting, or several MB already scanned with more to come. A pre-commit scan of a few files, or a
 * single big file, never pays for a thread.
 */
export async function runTasksLazily(
  nextTask: TaskSource,
  init: RunnerInit,
  maxWorkers: number,
  backlog: Backlog,
  onResult: (result: TaskResult) => void,
): Promise<void> {
  const runner = createTaskRunner(init);
  const threads: Array<Promise<void>> = [];
  let failure: unknown;
  let scannedHere = 0;
  const mayStart = maxWorkers > 0 && workersAvailable();
  const worthThreads = (): boolean =>
    (backlog.queued() > 0 || !backlog.finished()) &&
    (backlog.listed() > WORKER_START_LISTED_FILES || scannedHere > WORKER_START_SCANNED_BYTES);
  try {
    for (;;) {
      if (mayStart && threads.length === 0 && worthThreads()) {
        for (let i = 0; i < maxWorkers; i++) {
          threads.push(
            runOnWorkerThread(nextTask, init, onResult).catch((err: unknown) => {
              failure ??= err;
            }),
          );
        }
      }
      const task = await nextTask();
      if (task === undefined) break;
      const result = await runner.run(task);
      scannedHere += result.bytes;
      onResult(result);
      // Let the walk list more and the worker threads hand in results and take tasks: without this turn of the
      // event loop the main thread would drain the queue alone while the threads wait.
      if (threads.length > 0 || !backlog.finished()) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } finally {
    runner.close();
  }
  await Promise.all(threads);
  if (failure !== undefined) throw failure instanceof Error ? failure : new Error('scan thread failed');
}
