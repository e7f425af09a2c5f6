import { readFile } from 'node:fs/promises';
import { looksBinary, scanBytes } from '../engine/engine.js';
import type { Finding, ScanTextOptions } from '../types.js';
import { CatFileBatch } from './cat-file.js';
import type { WalkedFile } from './walk.js';

/** Settings a scan task runner needs; plain data so it can cross into a worker thread. */
export interface RunnerInit {
  disabledRules: string[];
  decode: boolean;
  maxFileSize: number;
  /** Repository for blob tasks. */
  gitCwd?: string;
}

export type ScanTask = { kind: 'files'; files: WalkedFile[] } | { kind: 'blobs'; oids: string[] };

export interface TaskResult {
  /** Findings per file path (file tasks) or per blob id (blob tasks). */
  findings: Array<{ key: string; findings: Finding[] }>;
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
  let catFile: CatFileBatch | undefined;

  const scanOne = (bytes: Buffer, path: string): Finding[] => {
    if (looksBinary(bytes)) return [];
    return scanBytes(bytes, { ...options, path });
  };

  return {
    async run(task) {
      const result: TaskResult = { findings: [], bytes: 0, items: 0 };
      if (task.kind === 'files') {
        for (const file of task.files) {
          result.items++;
          let bytes: Buffer;
          try {
            bytes = await readFile(file.absolute);
          } catch {
            continue; // Vanished or unreadable between listing and reading: nothing to scan.
          }
          if (bytes.length > init.maxFileSize) continue;
          result.bytes += bytes.length;
          const findings = scanOne(bytes, file.relative);
          if (findings.length > 0) result.findings.push({ key: file.relative, findings });
        }
        return result;
      }
      catFile ??= new CatFileBatch(init.gitCwd ?? '.');
      for await (const object of catFile.read(task.oids, init.maxFileSize)) {
        result.items++;
        if (object.data === undefined) continue;
        result.bytes += object.size;
        const findings = scanOne(object.data, '');
        if (findings.length > 0) result.findings.push({ key: object.oid, findings });
      }
      return result;
    },
    close() {
      catFile?.close();
    },
  };
}
