import type { SkipRecord } from '../decode/skip-record.js';
import { scanContentBuffer, scanContentFile, type ContentScanOptions } from '../decode/scan-content.js';
import { emptyResult, type ContentResult } from '../decode/sink.js';
import type { Finding } from '../types.js';
import type { WalkedFile } from './walk.js';

/** Settings a scan task runner needs; plain data so it can cross into a worker thread. */
export interface RunnerInit {
  disabledRules: string[];
  decode: boolean;
  /** The user's size cap in bytes; undefined (the default) scans files of any size in bounded memory. */
  maxFileSize?: number | undefined;
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
  /** Files (and archive members) left unscanned, by name and reason. Blob tasks name blobs by id. */
  skipped: SkipRecord[];
  /** Binary members of archives, counted only. */
  binaryMembers: number;
  /** Files or blobs read and scanned (not skipped as a whole). */
  scanned: number;
  bytes: number;
  items: number;
}

export interface TaskRunner {
  run(task: ScanTask): Promise<TaskResult>;
  close(): void;
}

/**
 * Content whose decoding failed in a way the decoders did not foresee: one file is named as unreadable instead of
 * failing the whole scan (a worker error ends every scan thread).
 */
function undecodable(path: string): ContentResult {
  const result = emptyResult(path);
  result.skips.push({ path, reason: 'unreadable', detail: 'could not be decoded' });
  return result;
}

/** Reads and scans files or blobs. The same code runs inside worker threads and, for small scans, in-process. */
export function createTaskRunner(init: RunnerInit): TaskRunner {
  const options: ContentScanOptions = {
    text: { disabledRules: new Set(init.disabledRules), decode: init.decode },
    maxFileSize: init.maxFileSize,
  };

  const collect = (result: TaskResult, key: string, content: ContentResult): void => {
    if (content.findings.length > 0) result.findings.push({ key, findings: content.findings });
    for (const skip of content.skips) result.skipped.push(skip);
    result.binaryMembers += content.binaryMembers;
    // A file skipped as a whole left a record under its own name; members skipped inside a scanned file did not.
    if (!content.skips.some((skip) => skip.path === content.path)) result.scanned++;
  };

  return {
    async run(task) {
      const result: TaskResult = { findings: [], skipped: [], binaryMembers: 0, scanned: 0, bytes: 0, items: 0 };
      if (task.kind === 'files') {
        for (const file of task.files) {
          result.items++;
          // Synchronous reads on purpose: this runs on a scan thread, and one readSync costs a fraction of the
          // thread-pool round trips of fs/promises. Only decoded content (archives, UTF-16, huge files) awaits.
          const scanned = scanContentFile(file.absolute, file.relative, options);
          const content = scanned instanceof Promise ? await scanned.catch(() => undecodable(file.relative)) : scanned;
          result.bytes += content.bytes;
          collect(result, file.relative, content);
        }
        return result;
      }
      const data = Buffer.from(task.data.buffer, task.data.byteOffset, task.data.byteLength);
      let start = 0;
      for (let i = 0; i < task.oids.length; i++) {
        const oid = task.oids[i] ?? '';
        const end = task.ends[i] ?? start;
        result.items++;
        result.bytes += end - start;
        // Blobs are scanned under an empty path; findings in archive members carry `!member`, which the history
        // source appends to the blob's path.
        let scanned: ContentResult | Promise<ContentResult>;
        try {
          scanned = scanContentBuffer(data.subarray(start, end), '', options);
        } catch {
          scanned = undecodable('');
        }
        const content = scanned instanceof Promise ? await scanned.catch(() => undecodable('')) : scanned;
        // Skips of a blob are keyed by its id (`oid` or `oid!member`); the history source names them by path.
        for (const skip of content.skips) skip.path = oid + skip.path;
        content.path = oid;
        collect(result, oid, content);
        start = end;
      }
      return result;
    },
    close() {
      // Nothing to release: file handles are closed per read, git is owned by the main thread.
    },
  };
}
