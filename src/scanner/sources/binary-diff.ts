import { scanContentBuffer, type ContentScanOptions } from '../decode/scan-content.js';
import type { Finding } from '../types.js';
import { CatFileBatch } from './cat-file.js';
import type { BinaryChange } from './diff-source.js';

/** Object names for `git cat-file --batch`, one per line: a path with a newline cannot be asked for. */
function objectName(revision: string, path: string): string | undefined {
  return path.includes('\n') ? undefined : `${revision}:${path}`;
}

async function findingsOf(reader: CatFileBatch, name: string | undefined, path: string, options: ContentScanOptions): Promise<Finding[]> {
  if (name === undefined) return [];
  for await (const object of reader.request([name], Number.MAX_SAFE_INTEGER)) {
    if (object.data === undefined) return [];
    const scanned = scanContentBuffer(object.data, path, options);
    return (scanned instanceof Promise ? await scanned : scanned).findings;
  }
  return [];
}

/**
 * Files git diffs as binary (UTF-16 text, gzip, zip) in `--staged` and `--range`: the new version is decoded and
 * scanned whole, and findings the old version already held (same rule, same secret) are dropped, so only what the
 * change adds is reported, as for text diffs. `revision` is `''` for the index (staged) and a commit otherwise.
 */
export async function scanBinaryChanges(
  top: string,
  changes: readonly BinaryChange[],
  staged: boolean,
  options: ContentScanOptions,
): Promise<Finding[]> {
  if (changes.length === 0) return [];
  const reader = new CatFileBatch(top);
  const findings: Finding[] = [];
  try {
    for (const change of changes) {
      const sha = change.commit?.sha;
      const newName = objectName(staged ? '' : (sha ?? 'HEAD'), change.path);
      const after = await findingsOf(reader, newName, change.path, options);
      if (after.length === 0) continue;
      const oldName = change.oldPath === undefined ? undefined : objectName(staged ? 'HEAD' : `${sha ?? 'HEAD'}^`, change.oldPath);
      const before = new Set((await findingsOf(reader, oldName, change.oldPath ?? '', options)).map((f) => `${f.ruleId}\u0000${f.fingerprint}`));
      for (const finding of after) {
        if (before.has(`${finding.ruleId}\u0000${finding.fingerprint}`)) continue;
        if (change.commit !== undefined) finding.commit = change.commit;
        findings.push(finding);
      }
    }
  } finally {
    reader.close();
  }
  return findings;
}
