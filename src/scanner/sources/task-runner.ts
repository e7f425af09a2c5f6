import { readFileSync } from 'node:fs';
import { looksBinary, scanBytes } from '../engine/engine.js';
import type { Finding, ScanTextOptions } from '../types.js';
import type { WalkedFile } from './walk.js';

/** Settings a scan task runner needs; plain data so it can cross into a worker thread. */
export interface RunnerInit {
  disabledRules: string[];
  decode: boolean;
  maxFileSize: number;
}

/**
 * Files are read by the thread that scans them. Blobs are read from git by the main thread (whose event loop is
 * otherwise idle, so git's pipe is always drained) and arrive packed into one transferable buffer.
 */
export type ScanTask =
  | { kind: 'files'; files: WalkedFile[] }
  | { kind: 'blobs'; oids: string[]; ends: number[]; data: Uint8Array };

export interface TaskResult {
  /** Findings per file path (file tasks) or per blob id (blob tasks). */
  findings: Array<{ key: string; findings: Finding[] }>;
  /** Files left unscanned, by reason (file tasks). */
  skipped: { binary: number; tooLarge: number; unreadable: number };
  bytes: number;
  items: number;
}

export interface TaskRunner {
  run(task: ScanTask): Promise<TaskResult>;
  close(): void;
}

/** Reads and scans files or blobs. The same code runs inside worker threads and, for small scans, in-process. */
export function createTaskRunner(init: RunnerInit): TaskRunner {
  const options: ScanTextOptions = { disabledRules: new Set(init.disabledRules), decode: init.decode };

  const scanOne = (bytes: Buffer, path: string, result: TaskResult): Finding[] => {
    if (looksBinary(bytes)) {
      result.skipped.binary++;
      return [];
    }
    return scanBytes(bytes, { ...options, path });
  };

  return {
    run(task) {
      const result: TaskResult = { findings: [], skipped: { binary: 0, tooLarge: 0, unreadable: 0 }, bytes: 0, items: 0 };
      if (task.kind === 'files') {
        for (const file of task.files) {
          result.items++;
          let bytes: Buffer;
          try {
            // Synchronous on purpose: this runs on a scan thread, and one readFileSync costs a fraction of the
            // four thread-pool round trips (open, fstat, read, close) of fs/promises.readFile.
            bytes = readFileSync(file.absolute);
          } catch {
            result.skipped.unreadable++; // Vanished or unreadable (permissions) between listing and reading.
            continue;
          }
          if (bytes.length > init.maxFileSize) {
            result.skipped.tooLarge++;
            continue;
          }
          result.bytes += bytes.length;
          const findings = scanOne(bytes, file.relative, result);
          if (findings.length > 0) result.findings.push({ key: file.relative, findings });
        }
        return Promise.resolve(result);
      }
      const data = Buffer.from(task.data.buffer, task.data.byteOffset, task.data.byteLength);
      let start = 0;
      task.oids.forEach((oid, i) => {
        const end = task.ends[i] ?? start;
        result.items++;
        result.bytes += end - start;
        const findings = scanOne(data.subarray(start, end), '', result);
        if (findings.length > 0) result.findings.push({ key: oid, findings });
        start = end;
      });
      return Promise.resolve(result);
    },
    close() {
      // Nothing to release: file handles are closed per read, git is owned by the main thread.
    },
  };
}
