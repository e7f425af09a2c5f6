import type { SkipRecord } from '../decode/skip-record.js';
import type { SkipSummary } from '../sources/skipped.js';
import { totalSkipped } from '../sources/skipped.js';

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/** A file name as one visible token: names with control characters (a newline could forge a report line) are quoted. */
export function displayName(name: string): string {
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return JSON.stringify(name);
  }
  return name;
}

function size(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`;
}

/** Named skips printed in the text report; the JSON report lists up to NAMED_LIST_CAP. */
const NAMED_TEXT_CAP = 20;

/** The counts of skipped files by reason, as short phrases ("2 binary", "1 refused as a zip bomb"). */
export function skipCountParts(skipped: SkipSummary): string[] {
  const { files } = skipped;
  const parts: string[] = [];
  if (files.gitignored > 0) parts.push(`${files.gitignored} gitignored`);
  if (files.ignoredByConfig > 0) parts.push(`${files.ignoredByConfig} excluded by .keywardenignore or scan.ignorePaths`);
  if (files.binary > 0) parts.push(`${files.binary} binary`);
  if (files.tooLarge > 0) {
    parts.push(skipped.maxFileSize !== undefined ? `${files.tooLarge} larger than ${size(skipped.maxFileSize)} (scan.maxFileSize)` : `${files.tooLarge} too large to unpack`);
  }
  if (files.bomb > 0) parts.push(`${files.bomb} refused as ${files.bomb === 1 ? 'a zip bomb' : 'zip bombs'}`);
  if (files.encrypted > 0) parts.push(`${files.encrypted} encrypted`);
  if (files.unreadable > 0) parts.push(`${files.unreadable} unreadable`);
  return parts;
}

function describeSkip(record: SkipRecord): string {
  if (record.detail !== undefined) return record.detail;
  return record.reason === 'tooLarge' ? 'too large' : record.reason;
}

/** One line per skipped file, so a file the scan could not read is never hidden in a count. */
function namedLines(skipped: SkipSummary): string[] {
  const lines = skipped.named.slice(0, NAMED_TEXT_CAP).map((record) => `  skipped ${displayName(record.path)}: ${describeSkip(record)}`);
  const more = skipped.namedTotal - Math.min(skipped.named.length, NAMED_TEXT_CAP);
  if (more > 0) lines.push(`  and ${more} more skipped (--json lists up to ${skipped.named.length > NAMED_TEXT_CAP ? skipped.named.length : NAMED_TEXT_CAP})`);
  return lines;
}

/**
 * The lines that say what a scan did not look at, and how to include it. Empty when nothing was skipped. The
 * gitignored files with secret-like names get their own line: "No AI keys found" must not read as "the .env next
 * to your code is clean".
 */
export function skippedLines(skipped: SkipSummary | undefined): string[] {
  if (skipped === undefined) return [];
  const parts = skipCountParts(skipped);
  const dirs = skipped.gitignoredDirectories;
  const members = skipped.binaryMembers > 0 ? [`Archive members not scanned: ${skipped.binaryMembers} binary.`] : [];
  if (parts.length === 0 && dirs === 0) return members;
  const fileText = parts.length > 0 ? `${plural(totalSkipped(skipped), 'file')} (${parts.join(', ')})` : '';
  const dirText = dirs > 0 ? `${dirs} gitignored ${dirs === 1 ? 'directory' : 'directories'}` : '';
  const lines = [`Not scanned: ${[fileText, dirText].filter((text) => text !== '').join(' and ')}.`, ...namedLines(skipped), ...members];
  if (skipped.gitignoredSensitiveTotal > 0) {
    const more = skipped.gitignoredSensitiveTotal - skipped.gitignoredSensitive.length;
    lines.push(
      `Gitignored files that often hold secrets were not scanned: ${skipped.gitignoredSensitive.map(displayName).join(', ')}${more > 0 ? ` and ${more} more` : ''}.`,
    );
  }
  if (skipped.files.gitignored > 0 || dirs > 0) lines.push('To scan gitignored files too: keywarden scan --no-gitignore');
  return lines;
}

/** "No AI keys found." alone only when nothing was left out; otherwise it says how many files and what was skipped. */
export function cleanSummary(skipped: SkipSummary | undefined): string {
  if (skipped === undefined) return 'No AI keys found.';
  const total = totalSkipped(skipped);
  if (total === 0) return 'No AI keys found.';
  return `No AI keys found in ${plural(skipped.scannedFiles, 'file')} (${total} skipped: ${skipCountParts(skipped).join(', ')}).`;
}
