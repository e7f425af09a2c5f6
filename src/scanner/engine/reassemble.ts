import { inTable, TOKEN_TABLE } from './char-table.js';

/**
 * Reassembly of keys split across string literals, so `"sk-proj-" + "abc…"`, PHP `'sk-' . 'proj-…'`, Python's
 * implicit `("sk-proj-abc"\n "def")`, shell's `"sk-proj-"'abc'` and `\`-newline continuations are matched whole.
 *
 * It starts only from a vendor anchor the prefilter already found (a split key keeps its prefix in the first
 * piece), so ordinary code full of quotes costs nothing extra. From there the token characters are followed to a
 * joint (closing quote, blanks, one `+` or `.` operator, line breaks, opening quote; or `\` + newline) and on
 * through the next literal's token characters, as long as joints follow. Every loop is bounded.
 */
export interface JoinedLiteral {
  /** The pieces' token characters, concatenated. */
  text: string;
  /** Original offset of every character of `text`. */
  offsets: Int32Array;
  /** Offsets into `text` where the second, third... piece begins: a match must straddle one of them. */
  breaks: number[];
  /** Original offset just past the last piece. */
  end: number;
}

/** Shortest joined token worth matching: below the shortest supported key (`fw_` + 20). */
const MIN_JOINED = 20;
/** No key is longer; a run beyond this is a blob, and walking it again per joint would cost time. */
const MAX_PIECE = 512;
const MAX_PIECES = 64;

function isQuote(code: number): boolean {
  return code === 0x22 || code === 0x27 || code === 0x60;
}

function isBlank(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/** Skips blanks and at most one line break (optionally preceded by `\`). Returns the new position. */
function skipGap(text: string, pos: number, allowBackslash: boolean): number {
  let i = pos;
  while (isBlank(text.charCodeAt(i))) i++;
  const start = i;
  if (allowBackslash && text.charCodeAt(i) === 0x5c) i++;
  if (text.charCodeAt(i) === 0x0d) i++;
  if (text.charCodeAt(i) !== 0x0a) return start;
  i++;
  while (isBlank(text.charCodeAt(i))) i++;
  return i;
}

/**
 * After a closing quote at `quote`, the offset of the next literal's opening quote when only blanks, one `+` or
 * `.` operator, line breaks and a `\` continuation separate them; -1 otherwise.
 */
function openingQuoteAfter(text: string, quote: number): number {
  const first = text.charCodeAt(quote + 1);
  // Fast reject: most closing quotes are followed by `,` `)` `;` `:` `]`.
  if (!(isBlank(first) || isQuote(first) || first === 0x2b || first === 0x2e || first === 0x5c || first === 0x0a || first === 0x0d)) {
    return -1;
  }
  let i = skipGap(text, quote + 1, true);
  const op = text.charCodeAt(i);
  const hasOperator = op === 0x2b || op === 0x2e;
  if (hasOperator) i = skipGap(text, i + 1, true);
  if (!isQuote(text.charCodeAt(i))) return -1;
  // Blanks alone (`"a" "b"`) join in Python and C but separate arguments in a shell command line; a right piece
  // that starts with `-` there is a flag (`echo "$KEY" "--model"`), not the rest of a key.
  const blanksOnly = !hasOperator && i > quote + 1 && text.slice(quote + 1, i).trim() === '';
  return blanksOnly && text.charCodeAt(i + 1) === 0x2d ? -1 : i;
}

/** Where the next piece starts when a joint begins at `pos` (right after a piece), or -1. */
function jointAt(text: string, pos: number): number {
  const code = text.charCodeAt(pos);
  let next = -1;
  if (isQuote(code)) {
    const open = openingQuoteAfter(text, pos);
    next = open === -1 ? -1 : open + 1;
  } else if (code === 0x5c) {
    // A continuation inside a literal or a bare word: `abc\` + newline + `def` (shell, C, Python strings).
    if (text.charCodeAt(pos + 1) === 0x0a) next = pos + 2;
    else if (text.charCodeAt(pos + 1) === 0x0d && text.charCodeAt(pos + 2) === 0x0a) next = pos + 3;
  }
  return next !== -1 && inTable(TOKEN_TABLE, text.charCodeAt(next)) ? next : -1;
}

/** True when the literal whose token run ends at `end` closes and is followed by `:` (blanks allowed between). */
function isMappingKey(text: string, end: number): boolean {
  if (!isQuote(text.charCodeAt(end))) return false;
  let i = end + 1;
  while (isBlank(text.charCodeAt(i))) i++;
  return text.charCodeAt(i) === 0x3a;
}

function tokenRunEnd(text: string, from: number): number {
  let end = from;
  while (end < text.length && end - from < MAX_PIECE && inTable(TOKEN_TABLE, text.charCodeAt(end))) end++;
  return end;
}

/** The chain of joined pieces that starts at `start` (a vendor anchor), or undefined when no joint follows. */
export function joinedFrom(text: string, start: number): JoinedLiteral | undefined {
  const firstEnd = tokenRunEnd(text, start);
  let next = jointAt(text, firstEnd);
  if (next === -1) return undefined;
  const pieces: Array<[number, number]> = [[start, firstEnd]];
  let length = firstEnd - start;
  while (next !== -1 && pieces.length < MAX_PIECES) {
    const end = tokenRunEnd(text, next);
    // A literal followed by `:` is the next key of a mapping (a dict, JSON or YAML line after a value), not the rest
    // of the previous string: `"sk-…"` then `"token_config": 1` on the next line must not join.
    if (isMappingKey(text, end)) break;
    pieces.push([next, end]);
    length += end - next;
    next = jointAt(text, end);
  }
  if (length < MIN_JOINED) return undefined;
  const offsets = new Int32Array(length);
  const breaks: number[] = [];
  let joined = '';
  for (const [from, to] of pieces) {
    if (joined.length > 0) breaks.push(joined.length);
    for (let k = from; k < to; k++) offsets[joined.length + k - from] = k;
    joined += text.slice(from, to);
  }
  return { text: joined, offsets, breaks, end: pieces[pieces.length - 1]?.[1] ?? firstEnd };
}
