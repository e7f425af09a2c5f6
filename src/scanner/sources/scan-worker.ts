import { parentPort, workerData } from 'node:worker_threads';
import { createTaskRunner, type RunnerInit, type ScanTask } from './task-runner.js';

/** Worker thread entry: runs scan tasks sent by worker-pool.ts, one at a time, and posts each result back. */
const runner = createTaskRunner(workerData as RunnerInit);
const port = parentPort;
if (port !== null) {
  port.on('message', (message: { task?: ScanTask; close?: true }) => {
    if (message.close === true) {
      runner.close();
      port.close();
      return;
    }
    if (message.task === undefined) return;
    runner.run(message.task).then(
      (result) => port.postMessage({ result }),
      () => port.postMessage({ error: 'scan task failed' }),
    );
  });
}
