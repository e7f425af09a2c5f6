import { stat } from 'node:fs/promises';
import path from 'node:path';
import ignore from 'ignore';
import type { Finding } from '../types.js';
import { runGit } from './git.js';
import { readHistoryIndex, type BlobIntroduction } from './git-log.js';
import { NO_PROGRESS, type ScanProgress } from './progress.js';
import type { RunnerInit, ScanTask } from './task-runner.js';
import { hasBinaryExtension } from './binary-extensions.js';
import { FileQueue } from './file-queue.js';
import { runTasksLazily, workerThreadsFor } from './lazy-pool.js';
import { walkInto, type WalkSkip } from './walk.js';
import { runTasks, type TaskSource } from './worker-pool.js';
import { CatFileBatch } from './cat-file.js';
import type { SkipTally } from './skipped.js';
import { MEMBER_SEPARATOR, type SkipRecord } from '../decode/skip-record.js';

export interface SourceOptions {
  disabledRules: ReadonlySet<string>;
  decode: boolean;
  /** The user's size cap in bytes; undefined (the default): no cap, large content is scanned in windows. */
  maxFileSize?: number | undefined;
  /** Worker threads for path and history scans; small scans run in-process regardless. */
  workers: number;
  /** gitignore-syntax patterns (from .keywardenignore and config) matched against reported paths. */
  ignorePatterns: readonly string[];
  progress?: ScanProgress;
  /** Path scans count what they leave out here. */
  skips?: SkipTally;
}

const FILES_PER_TASK = 24;
const BYTES_PER_BLOB_TASK = 2 * 1024 * 1024;

function pathFilter(patterns: readonly string[]): (file: string) => boolean {
  const matcher = ignore().add([...patterns]);
  // Patterns are relative to the scan root; files reported by absolute path lie outside it.
  return (file) => file === '' || path.isAbsolute(file) || !matcher.ignores(file);
}

function runnerInit(options: SourceOptions): RunnerInit {
  return { disabledRules: [...options.disabledRules], decode: options.decode, maxFileSize: options.maxFileSize };
}

/**
 * Produces blob tasks on demand: each call asks git for the next chunk at once (so git works ahead while threads
 * scan) and packs the chunk's blobs into one buffer that is moved, not copied, to a worker thread.
 */
function blobTaskSource(chunks: readonly string[][], readers: readonly CatFileBatch[], maxSize: number | undefined): TaskSource {
  // Each git process reads one contiguous half of the pack order, so delta bases stay in its own cache.
  const middle = Math.ceil(chunks.length / 2);
  const cursors = [0, middle];
  const limits = [middle, chunks.length];
  let turn = 0;
  return async () => {
    let side = turn++ % 2;
    if ((cursors[side] ?? 0) >= (limits[side] ?? 0)) side = 1 - side;
    const index = cursors[side] ?? 0;
    if (index >= (limits[side] ?? 0)) return undefined;
    cursors[side] = index + 1;
    const oids = chunks[index];
    const reader = readers[side];
    if (oids === undefined || reader === undefined) return undefined;
    const parts: Buffer[] = [];
    const kept: string[] = [];
    for await (const object of reader.request(oids, maxSize ?? Number.MAX_SAFE_INTEGER)) {
      if (object.data === undefined) continue;
      kept.push(object.oid);
      parts.push(object.data);
    }
    const data = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
    const ends: number[] = [];
    let offset = 0;
    for (const part of parts) {
      data.set(part, offset);
      offset += part.length;
      ends.push(offset);
    }
    return { kind: 'blobs', oids: kept, ends, data };
  };
}

function toPosix(file: string): string {
  return file.split(path.sep).join('/');
}

/** Listed files waiting for a scanner, at most: a bound on memory for trees of millions of files. */
const QUEUE_CAPACITY = 16_384;

/**
 * Files and directories. Reported paths are relative to `cwd` (the repository root in CI), with `/`. The walk
 * lists into a bounded queue while the main thread (and, once the backlog pays for them, worker threads) scans
 * from it, so no thread waits for the listing to finish.
 */
export async function scanPaths(roots: readonly string[], cwd: string, gitignore: boolean, options: SourceOptions): Promise<Finding[]> {
  const progress = options.progress ?? NO_PROGRESS;
  const keep = pathFilter(options.ignorePatterns);
  const absoluteRoots = roots.map((root) => path.resolve(cwd, root));
  // stat first: a missing path is a usage error before any thread starts.
  const anyDirectory = (await Promise.all(absoluteRoots.map(async (root) => (await stat(root)).isDirectory()))).some(Boolean);
  const queue = new FileQueue(QUEUE_CAPACITY);
  const skips = options.skips;
  const listing = (async (): Promise<void> => {
    for (const absoluteRoot of absoluteRoots) {
      const reportedPath = (relativeToRoot: string): string => {
        const relative = toPosix(path.relative(cwd, path.join(absoluteRoot, relativeToRoot)));
        return relative.startsWith('../') ? toPosix(path.join(absoluteRoot, relativeToRoot)) : relative;
      };
      const onSkip = skips === undefined ? undefined : (skip: WalkSkip): void => {
        if (skip.kind === 'ignored-directory') skips.gitignoredDirectory();
        else if (skip.kind === 'ignored-file') skips.file('gitignored', reportedPath(skip.relative));
        else if (skip.kind === 'binary-file') skips.file('binary', reportedPath(skip.relative));
        else skips.file('unreadable', reportedPath(skip.relative));
      };
      await walkInto(absoluteRoot, { gitignore, ignorePatterns: [], ...(onSkip ? { onSkip } : {}) }, (file) => {
        const relative = toPosix(path.relative(cwd, file.absolute));
        const reported = relative.startsWith('../') ? toPosix(file.absolute) : relative;
        if (keep(reported)) return queue.push({ absolute: file.absolute, relative: reported });
        skips?.file('ignoredByConfig');
        return undefined;
      });
    }
  })().then(
    () => queue.close(),
    (err: unknown) => queue.close(err ?? new Error('listing failed')),
  );
  progress.start(0, 'files');
  const nextTask = async (): Promise<ScanTask | undefined> => {
    const files = await queue.take(FILES_PER_TASK);
    return files === undefined ? undefined : { kind: 'files', files };
  };
  const findings: Finding[] = [];
  const backlog = { listed: () => queue.listed, queued: () => queue.length, finished: () => queue.done };
  // A lone file is scanned in-process.
  await runTasksLazily(nextTask, runnerInit(options), anyDirectory ? workerThreadsFor(options.workers) : 0, backlog, (result) => {
    for (const entry of result.findings) findings.push(...entry.findings);
    options.skips?.add(result.skipped, result.binaryMembers, result.scanned);
    progress.total?.(queue.listed);
    progress.advance(result.items, result.bytes);
  });
  await listing;
  progress.stop();
  return findings;
}

/**
 * The wanted blobs with their sizes, from one `cat-file --batch-check` pass, in pack order (`--unordered`): git
 * then inflates deltas next to their bases, and big blobs can be skipped and tasks balanced by bytes.
 */
async function blobsInPackOrder(cwd: string, wanted: ReadonlyMap<string, unknown>): Promise<Array<[string, number]>> {
  const out = await runGit(['cat-file', '--batch-check=%(objectname) %(objecttype) %(objectsize)', '--batch-all-objects', '--unordered'], cwd);
  const blobs: Array<[string, number]> = [];
  for (const line of out.toString('utf8').split('\n')) {
    const [oid, type, size] = line.split(' ');
    if (oid !== undefined && type === 'blob' && wanted.has(oid)) blobs.push([oid, Number(size)]);
  }
  return blobs;
}

/**
 * `--git`: every blob of every commit on every ref, each scanned once, then attributed to the first commit that
 * introduced it at each path. A secret that lives on through later edits is reported once, at its first commit.
 */
export async function scanGitHistory(top: string, revisions: readonly string[], options: SourceOptions): Promise<Finding[]> {
  const progress = options.progress ?? NO_PROGRESS;
  const keep = pathFilter(options.ignorePatterns);
  // Reading the history index overlaps with starting the scan threads and the two git readers.
  const prepared = (async () => {
    const index = await readHistoryIndex(top, revisions);
    const wanted = new Map<string, BlobIntroduction[]>();
    for (const [oid, intros] of index.blobs) {
      const kept = intros.filter((intro) => keep(intro.path) && !hasBinaryExtension(intro.path));
      if (kept.length > 0) wanted.set(oid, kept);
      else {
        const binary = intros.find((intro) => keep(intro.path));
        if (binary !== undefined) options.skips?.file('binary', binary.path);
      }
    }
    const chunks: string[][] = [];
    let batch: string[] = [];
    let batchBytes = 0;
    for (const [oid, size] of await blobsInPackOrder(top, wanted)) {
      if (options.maxFileSize !== undefined && size > options.maxFileSize) {
        for (const intro of wanted.get(oid)?.slice(0, 1) ?? []) options.skips?.file('tooLarge', intro.path, `larger than the size limit (${options.maxFileSize} bytes)`);
        continue;
      }
      batch.push(oid);
      batchBytes += size;
      if (batchBytes >= BYTES_PER_BLOB_TASK || batch.length >= 512) {
        chunks.push(batch);
        batch = [];
        batchBytes = 0;
      }
    }
    if (batch.length > 0) chunks.push(batch);
    progress.start(wanted.size, 'blobs');
    return { index, wanted, chunks };
  })();

  // Per (rule, secret, path), the finding from the earliest commit that introduced it.
  const earliest = new Map<string, { finding: Finding; order: number }>();
  const attribute = (history: Awaited<typeof prepared>, oid: string, findings: readonly Finding[]): void => {
    for (const intro of history.wanted.get(oid) ?? []) {
      const commit = history.index.commits.get(intro.commit);
      for (const finding of findings) {
        const dedupe = `${finding.ruleId}\u0000${finding.fingerprint}\u0000${intro.path}`;
        const known = earliest.get(dedupe);
        if (known !== undefined && known.order <= intro.order) continue;
        // Findings inside archive members carry `!member` after the (empty) blob path.
        const located: Finding = { ...finding, path: intro.path + finding.path };
        if (commit !== undefined) located.commit = commit;
        earliest.set(dedupe, { finding: located, order: intro.order });
      }
    }
  };
  // Two git processes share the inflating work, each on one half of the pack.
  const readers = [new CatFileBatch(top), new CatFileBatch(top)];
  let source: TaskSource | undefined;
  let history: Awaited<typeof prepared> | undefined;
  try {
    await runTasks(
      async () => {
        history ??= await prepared;
        source ??= blobTaskSource(history.chunks, readers, options.maxFileSize);
        return source();
      },
      runnerInit(options),
      options.workers,
      (result) => {
        progress.advance(result.items, result.bytes);
        // Results exist only for tasks, and tasks only once `history` is set.
        if (history !== undefined) for (const { key, findings } of result.findings) attribute(history, key, findings);
        if (history !== undefined && options.skips !== undefined) options.skips.add(namedByPath(history.wanted, result.skipped), result.binaryMembers, result.scanned);
      },
    );
    await prepared;
  } finally {
    for (const reader of readers) reader.close();
  }
  progress.stop();
  return [...earliest.values()].map((entry) => entry.finding);
}

/** Blob skips arrive keyed `oid` or `oid!member`; a person needs the path where the blob first appeared. */
function namedByPath(wanted: ReadonlyMap<string, readonly BlobIntroduction[]>, skips: readonly SkipRecord[]): SkipRecord[] {
  return skips.map((skip) => {
    const cut = skip.path.indexOf(MEMBER_SEPARATOR);
    const oid = cut === -1 ? skip.path : skip.path.slice(0, cut);
    const intro = wanted.get(oid)?.[0];
    return { ...skip, path: (intro?.path ?? oid) + (cut === -1 ? '' : skip.path.slice(cut)) };
  });
}

// Staged and range scans live in diff-scan.ts, which `scan --staged` loads without this module's threads and git readers.
export { scanRange, scanStaged } from './diff-scan.js';
