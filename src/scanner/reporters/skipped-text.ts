import type { SkipSummary } from '../sources/skipped.js';
import { totalSkipped } from '../sources/skipped.js';

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/** A file name as one visible token: names with control characters (a newline could forge a report line) are quoted. */
function displayName(name: string): string {
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return JSON.stringify(name);
  }
  return name;
}

function size(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`;
}

/**
 * The lines that say what a scan did not look at, and how to include it. Empty when nothing was skipped. The
 * gitignored files with secret-like names get their own line: "No AI keys found" must not read as "the .env next
 * to your code is clean".
 */
export function skippedLines(skipped: SkipSummary | undefined): string[] {
  if (skipped === undefined) return [];
  const { files } = skipped;
  const parts: string[] = [];
  if (files.gitignored > 0) parts.push(`${files.gitignored} gitignored`);
  if (files.ignoredByConfig > 0) parts.push(`${files.ignoredByConfig} excluded by .keywardenignore or scan.ignorePaths`);
  if (files.binary > 0) parts.push(`${files.binary} binary`);
  if (files.tooLarge > 0) parts.push(`${files.tooLarge} larger than ${size(skipped.maxFileSize)} (scan.maxFileSize)`);
  if (files.unreadable > 0) parts.push(`${files.unreadable} unreadable`);
  const dirs = skipped.gitignoredDirectories;
  if (parts.length === 0 && dirs === 0) return [];
  const fileText = parts.length > 0 ? `${plural(totalSkipped(skipped), 'file')} (${parts.join(', ')})` : '';
  const dirText = dirs > 0 ? `${dirs} gitignored ${dirs === 1 ? 'directory' : 'directories'}` : '';
  const lines = [`Not scanned: ${[fileText, dirText].filter((text) => text !== '').join(' and ')}.`];
  if (skipped.gitignoredSensitiveTotal > 0) {
    const more = skipped.gitignoredSensitiveTotal - skipped.gitignoredSensitive.length;
    lines.push(
      `Gitignored files that often hold secrets were not scanned: ${skipped.gitignoredSensitive.map(displayName).join(', ')}${more > 0 ? ` and ${more} more` : ''}.`,
    );
  }
  if (files.gitignored > 0 || dirs > 0) lines.push('To scan gitignored files too: keywarden scan --no-gitignore');
  return lines;
}
