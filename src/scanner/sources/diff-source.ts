import { StringDecoder } from 'node:string_decoder';
import { scanText } from '../engine/engine.js';
import type { CommitInfo, Finding, ScanTextOptions } from '../types.js';
import { streamGit } from './git.js';

/** The lines one commit (or the index) adds to one file, with their line numbers in the new file. */
export interface AddedLines {
  path: string;
  lines: string[];
  lineNumbers: number[];
  commit?: CommitInfo;
}

/** A file git shows as "Binary files … differ" (UTF-16 text, archives): its added lines cannot be read from the diff. */
export interface BinaryChange {
  /** Path before the change (undefined when added), and after it. */
  oldPath: string | undefined;
  path: string;
  commit?: CommitInfo;
}

const COMMIT_MARK = '\u0001';
const HUNK_HEADER = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@/;
const BINARY_CHANGE = /^Binary files (.+) and (.+) differ$/;

function stripPrefix(value: string, prefix: string): string {
  return value.startsWith(prefix) ? value.slice(prefix.length) : value;
}

function unquotePath(raw: string): string {
  if (!raw.startsWith('"')) return raw;
  try {
    return JSON.parse(raw) as string;
  } catch {
    return raw.slice(1, -1);
  }
}

/**
 * Streams unified-diff text (from `git diff -U0` or `git log -p -U0`) and emits the added lines per file.
 * Only `+` lines inside hunks count, so a pre-commit or CI scan reports what the change adds, not what was there.
 */
export class AddedLinesParser {
  private current: AddedLines | undefined;
  private commit: CommitInfo | undefined;
  private nextLine = 0;
  private inHunk = false;

  constructor(
    private readonly emit: (added: AddedLines) => void,
    private readonly emitBinary?: (change: BinaryChange) => void,
  ) {}

  private flush(): void {
    if (this.current !== undefined && this.current.lines.length > 0) this.emit(this.current);
    this.current = undefined;
    this.inHunk = false;
  }

  line(text: string): void {
    if (text.startsWith(COMMIT_MARK)) {
      this.flush();
      const [sha = '', author = '', email = '', date = ''] = text.slice(1).split('\u0000');
      this.commit = { sha, author, email, date };
      return;
    }
    if (text.startsWith('diff --git ')) {
      this.flush();
      return;
    }
    if (!this.inHunk && text.startsWith('+++ ')) {
      const target = unquotePath(text.slice(4));
      if (target === '/dev/null') return;
      const path = target.startsWith('b/') ? target.slice(2) : target;
      this.current = { path, lines: [], lineNumbers: [] };
      if (this.commit !== undefined) this.current.commit = this.commit;
      return;
    }
    const binary = this.inHunk ? null : BINARY_CHANGE.exec(text);
    if (binary !== null) {
      const [, from = '', to = ''] = binary;
      const target = unquotePath(to);
      if (target === '/dev/null') return;
      const source = unquotePath(from);
      const change: BinaryChange = { oldPath: source === '/dev/null' ? undefined : stripPrefix(source, 'a/'), path: stripPrefix(target, 'b/') };
      if (this.commit !== undefined) change.commit = this.commit;
      this.emitBinary?.(change);
      return;
    }
    const hunk = HUNK_HEADER.exec(text);
    if (hunk !== null) {
      this.inHunk = true;
      this.nextLine = Number(hunk[1]);
      return;
    }
    if (this.inHunk && this.current !== undefined && text.startsWith('+')) {
      this.current.lines.push(text.slice(1));
      this.current.lineNumbers.push(this.nextLine++);
    }
  }

  end(): void {
    this.flush();
  }
}

/** Scans added lines; each finding's line is mapped back to the line number in the new file. */
export function scanAddedLines(added: AddedLines, options: ScanTextOptions): Finding[] {
  const findings = scanText(added.lines.join('\n'), { ...options, path: added.path });
  for (const finding of findings) {
    finding.line = added.lineNumbers[finding.line - 1] ?? finding.line;
    if (added.commit !== undefined) finding.commit = added.commit;
  }
  return findings;
}

/** Runs a git diff-producing command and feeds its output, line by line, to an AddedLinesParser. */
export async function streamAddedLines(
  args: readonly string[],
  cwd: string,
  emit: (added: AddedLines) => void,
  emitBinary?: (change: BinaryChange) => void,
): Promise<void> {
  const parser = new AddedLinesParser(emit, emitBinary);
  const decoder = new StringDecoder('utf8');
  let pending = '';
  await streamGit(args, cwd, (chunk) => {
    pending += decoder.write(chunk);
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) parser.line(line);
  });
  pending += decoder.end();
  if (pending !== '') parser.line(pending);
  parser.end();
}

const DIFF_FLAGS = ['-U0', '--no-color', '--no-ext-diff', '--diff-filter=d', '-M'];

/** `--staged`: what the next commit adds. */
export function stagedDiffArgs(): string[] {
  return ['diff', '--cached', ...DIFF_FLAGS];
}

/** `--since REF` / `--range A..B`: what each commit of a push adds, oldest first, attributed to its commit. */
export function rangeDiffArgs(range: string): string[] {
  return ['log', '--reverse', '--topo-order', '-p', ...DIFF_FLAGS, `--format=${COMMIT_MARK}%H%x00%an%x00%ae%x00%aI`, range, '--'];
}
