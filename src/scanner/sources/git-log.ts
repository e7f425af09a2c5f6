import type { CommitInfo } from '../types.js';
import { streamGit } from './git.js';

/** Where a blob first appeared at one path: the commit that introduced it there. */
export interface BlobIntroduction {
  path: string;
  commit: string;
  /** Position of the commit in oldest-first topological order; lower means earlier. */
  order: number;
}

export interface HistoryIndex {
  /** Every blob in the scanned history, each with its first appearance at every path it had. */
  blobs: Map<string, BlobIntroduction[]>;
  commits: Map<string, CommitInfo>;
}

const NULL_OID = /^0+$/;
const SUBMODULE_MODE = '160000';
const COMMIT_MARK = '\u0001';

/**
 * Parses one record of `git log -z --raw -c` output: the commit header fields, then pairs of (raw meta, path).
 * Merge commits use the combined form `::mode mode mode oid oid oid MM`, whose last oid is the merge result.
 */
function parseRecord(record: string, index: HistoryIndex, order: number): void {
  const fields = record.split('\u0000');
  const [sha, author, email, date] = fields;
  if (sha === undefined || author === undefined || email === undefined || date === undefined) return;
  index.commits.set(sha, { sha, author, email, date });
  for (let i = 4; i < fields.length - 1; i++) {
    const meta = (fields[i] as string).replace(/^\n/, '');
    if (!meta.startsWith(':')) continue;
    const path = fields[++i] as string;
    const parents = meta.length - meta.replace(/^:+/, '').length;
    const parts = meta.slice(parents).split(' ');
    const mode = parts[parents];
    const oid = parts[2 * parents + 1];
    if (oid === undefined || mode === SUBMODULE_MODE || NULL_OID.test(oid)) continue;
    const seen = index.blobs.get(oid);
    if (seen === undefined) index.blobs.set(oid, [{ path, commit: sha, order }]);
    else if (!seen.some((intro) => intro.path === path)) seen.push({ path, commit: sha, order });
  }
}

/**
 * Reads history oldest-first (topological, so parents precede children) and records, for every blob, the first
 * commit that introduced it at each path. With `revisions` = ['--all'] that is every commit on every ref,
 * including content deleted later. Only tree diffs are computed, no content diffs, so this pass stays cheap.
 */
export async function readHistoryIndex(cwd: string, revisions: readonly string[], onCommit?: () => void): Promise<HistoryIndex> {
  const index: HistoryIndex = { blobs: new Map(), commits: new Map() };
  let pending = '';
  let order = 0;
  const args = [
    'log',
    ...revisions,
    '--topo-order',
    '--reverse',
    '--raw',
    '--no-abbrev',
    '--no-renames',
    '--root',
    '-c',
    '-z',
    `--format=${COMMIT_MARK}%H%x00%an%x00%ae%x00%aI`,
    '--',
  ];
  await streamGit(args, cwd, (chunk) => {
    pending += chunk.toString('utf8');
    const last = pending.lastIndexOf(COMMIT_MARK);
    if (last <= 0) return;
    for (const record of pending.slice(0, last).split(COMMIT_MARK)) {
      if (record === '') continue;
      parseRecord(record, index, order++);
      onCommit?.();
    }
    pending = pending.slice(last);
  });
  for (const record of pending.split(COMMIT_MARK)) {
    if (record === '') continue;
    parseRecord(record, index, order++);
    onCommit?.();
  }
  return index;
}
