import type { Finding, ScanTextOptions } from '../types.js';
import { hasBinaryExtension } from './binary-extensions.js';
import { scanAddedLines, rangeDiffArgs, stagedDiffArgs, streamAddedLines, type BinaryChange } from './diff-source.js';
import type { SourceOptions } from './sources.js';

/**
 * `--staged` and `--range`: one `git diff` whose added lines are scanned on the main thread as they stream in.
 * This is the pre-commit path, so it imports only what it uses: no directory walk, no worker threads, no git
 * object readers, and the gitignore matcher only when there are patterns to match.
 */
async function keepFilter(patterns: readonly string[]): Promise<(file: string) => boolean> {
  if (patterns.length === 0) return () => true;
  const { default: ignore } = await import('ignore');
  const matcher = ignore().add([...patterns]);
  return (file) => file === '' || file.startsWith('/') || !matcher.ignores(file);
}

async function scanDiff(args: readonly string[], top: string, options: SourceOptions, staged: boolean): Promise<Finding[]> {
  const keep = await keepFilter(options.ignorePatterns);
  const scanOptions: ScanTextOptions = { disabledRules: options.disabledRules, decode: options.decode };
  const seen = new Set<string>();
  const findings: Finding[] = [];
  const add = (finding: Finding): void => {
    // A key added, removed and re-added within one push is reported once, at its first commit.
    const dedupe = `${finding.ruleId}\u0000${finding.fingerprint}\u0000${finding.path}`;
    if (seen.has(dedupe)) return;
    seen.add(dedupe);
    findings.push(finding);
  };
  const binaries: BinaryChange[] = [];
  await streamAddedLines(
    args,
    top,
    (added) => {
      if (!keep(added.path) || hasBinaryExtension(added.path)) return;
      for (const finding of scanAddedLines(added, scanOptions)) add(finding);
    },
    (change) => {
      if (keep(change.path) && !hasBinaryExtension(change.path)) binaries.push(change);
    },
  );
  // UTF-16 text and archives show as "Binary files differ": read those from git and decode them.
  if (binaries.length > 0) {
    const { scanBinaryChanges } = await import('./binary-diff.js');
    const content = { text: scanOptions, maxFileSize: options.maxFileSize };
    for (const finding of await scanBinaryChanges(top, binaries, staged, content)) add(finding);
  }
  return findings;
}

/** `--staged`: only lines the next commit adds. */
export function scanStaged(top: string, options: SourceOptions): Promise<Finding[]> {
  return scanDiff(stagedDiffArgs(), top, options, true);
}

/** `--range A..B` / `--since REF`: only lines the commits in the range add. */
export function scanRange(top: string, range: string, options: SourceOptions): Promise<Finding[]> {
  return scanDiff(rangeDiffArgs(range), top, options, false);
}
