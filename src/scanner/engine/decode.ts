import { charTable, inTable } from './char-table.js';

/** A stretch of the text that decodes to something else worth scanning. */
export interface EncodedRun {
  start: number;
  end: number;
  decoded: string;
}

const BASE64 = charTable(/[A-Za-z0-9+/]/);
const URL_CHARS = charTable(/[A-Za-z0-9%._~+-]/);

/** Shortest base64 run worth decoding: 32 characters hold 24 bytes, no more than the shortest supported key. */
export const MIN_BASE64_RUN = 32;
/** Huge blobs (embedded images, bundles) are not where keys are pasted; decoding them would only cost time. */
const MAX_BASE64_RUN = 1 << 20;

function isMostlyPrintable(text: string): boolean {
  if (text.length === 0) return false;
  let printable = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if ((code >= 0x20 && code < 0x7f) || code === 0x0a || code === 0x0d || code === 0x09) printable++;
  }
  return printable / text.length >= 0.95;
}

/** The printable text a base64 run decodes to, or undefined. */
export function decodeBase64Run(run: string): string | undefined {
  // A run that begins with `/` or `+` is often a path or an operator glued to the blob; try without it too.
  for (const candidate of run[0] === '/' || run[0] === '+' ? [run, run.replace(/^[+/]+/, '')] : [run]) {
    if (candidate.length < MIN_BASE64_RUN - 4) continue;
    const decoded = Buffer.from(candidate, 'base64').toString('latin1');
    if (isMostlyPrintable(decoded)) return decoded;
  }
  return undefined;
}

/**
 * [start, end) of every run of at least MIN_BASE64_RUN base64 characters (with its `=` padding). The scan checks
 * the last character of each window first and jumps past any non-base64 character (Boyer-Moore style), so
 * ordinary text is crossed at several hundred MB/s instead of being matched character by character.
 */
export function findLongRuns(text: string): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  const length = text.length;
  let i = 0;
  while (i + MIN_BASE64_RUN <= length) {
    let j = i + MIN_BASE64_RUN - 1;
    while (j >= i && inTable(BASE64, text.charCodeAt(j))) j--;
    if (j >= i) {
      i = j + 1;
      continue;
    }
    let end = i + MIN_BASE64_RUN;
    while (end < length && inTable(BASE64, text.charCodeAt(end))) end++;
    // Padding belongs to the run, so the whole encoded value is reported and decoded.
    while (end < length && end - i < MAX_BASE64_RUN && text.charCodeAt(end) === 0x3d) end++;
    if (end - i <= MAX_BASE64_RUN) runs.push([i, end]);
    i = end + 1;
  }
  return runs;
}

/** Base64 runs that decode to printable text. */
export function findBase64Runs(text: string): EncodedRun[] {
  const runs: EncodedRun[] = [];
  for (const [start, end] of findLongRuns(text)) {
    const decoded = decodeBase64Run(text.slice(start, end));
    if (decoded !== undefined) runs.push({ start, end, decoded });
  }
  return runs;
}

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  const lower = code | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

/** Percent-decoding that never throws: malformed escapes stay as they are. `+` stays `+` (keys never hold spaces). */
export function percentDecode(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x25 && i + 2 < text.length) {
      const high = hexValue(text.charCodeAt(i + 1));
      const low = hexValue(text.charCodeAt(i + 2));
      if (high >= 0 && low >= 0) {
        out += String.fromCharCode(high * 16 + low);
        i += 2;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

/** The URL-encoded run around `pos` (a `%2D` or `%5F` hit), decoded. */
export function urlRunAround(text: string, pos: number): EncodedRun {
  let start = pos;
  while (start > 0 && inTable(URL_CHARS, text.charCodeAt(start - 1))) start--;
  let end = pos;
  while (end < text.length && inTable(URL_CHARS, text.charCodeAt(end))) end++;
  return { start, end, decoded: percentDecode(text.slice(start, end)) };
}
