import type { Rule } from '../rules/index.js';
import { isPlaceholder } from '../placeholder.js';
import { ALNUM, findTokenRuns, inTable, keyMayStartAt } from './char-table.js';
import type { CompiledContextRule, CompiledPrefixRule, CompiledRules } from './compile.js';
import { worthDecoding } from './base64-gate.js';
import { decodeBase64Run, findLongRuns, urlRunAround, type EncodedRun } from './decode.js';
import { joinedFrom, type JoinedLiteral } from './reassemble.js';
import { TextLines } from './text-lines.js';

/** A rule match as offsets into the scanned text; turned into a Finding by engine.ts. */
export interface RawMatch {
  rule: Rule;
  secret: string;
  start: number;
  end: number;
  encoding?: 'base64' | 'url';
  /** Set when the key was joined from several string literals. */
  joined?: true;
}

/** How far around a token a context rule looks for a provider word: lines each way, characters each way. */
const CONTEXT_LINES = 3;
const CONTEXT_CHARS = 1024;
/** A bare token counts only on a line that names a key; the token itself is cut out before testing. */
const KEY_NAME = /key|secret|token|auth|bearer|passw|credential/i;
/** How much of the line before an encoded blob is kept as context for the decoded text (the key's name). */
const DECODED_CONTEXT_CHARS = 200;
/** How much text around a joined literal is kept as its context (the key's name, the provider word). */
const JOINED_CONTEXT_CHARS = 512;
/**
 * How far along the token's line a key name is looked for. The name sits next to the key (`KEY="…"`, `"apiKey":
 * "…"`); a bound keeps a minified file's one long line from being copied for every candidate on it.
 */
const KEY_NAME_CHARS = 256;
/** A token alone on its line takes its key name from the lines just above (YAML block, XML element). */
const KEY_NAME_LINES_ABOVE = 2;

/** [start, end) of the lines around `pos`: CONTEXT_LINES each way, at most CONTEXT_CHARS each way. */
function contextWindow(lines: TextLines, pos: number): [number, number] {
  const start = Math.max(lines.lineStartAbove(pos, CONTEXT_LINES), pos - CONTEXT_CHARS);
  return [start, Math.min(lines.lineEndBelow(pos, CONTEXT_LINES), pos + CONTEXT_CHARS)];
}

function hasWordNear(lines: TextLines, pos: number, words: readonly string[]): boolean {
  const [start, end] = contextWindow(lines, pos);
  const window = lines.text.slice(start, end).toLowerCase();
  return words.some((word) => window.includes(word));
}

/** A key cut short in documentation (`sk-proj-abc...`, `…` also as its UTF-8 bytes read as latin1) is not a key. */
function truncatedAt(text: string, end: number): boolean {
  const next = text.charCodeAt(end);
  if (next === 0x2026) return true;
  if (next === 0x2e) return text.startsWith('..', end + 1);
  return next === 0xe2 && text.charCodeAt(end + 1) === 0x80 && text.charCodeAt(end + 2) === 0xa6;
}

function matchPrefix(lines: TextLines, pos: number, candidates: readonly CompiledPrefixRule[], out: RawMatch[]): void {
  const text = lines.text;
  if (!keyMayStartAt(text, pos)) return;
  for (const { rule, charset } of candidates) {
    if (!text.startsWith(rule.prefix, pos)) continue;
    let end = pos + rule.prefix.length;
    while (end < text.length && inTable(charset, text.charCodeAt(end))) end++;
    const secret = text.slice(pos, end);
    if (!rule.shape.test(secret)) continue;
    if (rule.contextWords !== undefined && !hasWordNear(lines, pos, rule.contextWords)) continue;
    // The first rule whose shape fits owns the token: a placeholder stops here instead of falling to a looser rule.
    if (
      (rule.validate === undefined || rule.validate(secret)) &&
      !isPlaceholder(secret.slice(rule.prefix.length)) &&
      !truncatedAt(text, end)
    ) {
      out.push({ rule, secret, start: pos, end });
    }
    return;
  }
}

/**
 * Does the token at [start, end) sit where a key name is? On its own line (bounded to KEY_NAME_CHARS each way), or,
 * when that line holds nothing but the token and punctuation, on one of the lines just above it.
 */
function keyNamedFor(lines: TextLines, start: number, end: number): boolean {
  const text = lines.text;
  const lineStart = Math.max(lines.lineStart(start), start - KEY_NAME_CHARS);
  const lineEnd = Math.min(lines.lineEnd(end), end + KEY_NAME_CHARS);
  const lineWithoutToken = text.slice(lineStart, start) + text.slice(end, lineEnd);
  if (KEY_NAME.test(lineWithoutToken)) return true;
  if (/[A-Za-z0-9]/.test(lineWithoutToken) || lineStart === 0 || text.charCodeAt(lineStart - 1) !== 0x0a) return false;
  const above = Math.max(lines.lineStartAbove(start, KEY_NAME_LINES_ABOVE), lineStart - KEY_NAME_CHARS);
  return KEY_NAME.test(text.slice(above, lineStart));
}

/** Longest escape tail a token may carry at the start of its alphanumeric segment (`u0022` of `\u0022`). */
const MAX_ESCAPE_TAIL = 5;

/**
 * Context rules, found from the token side. A long run is split into its alphanumeric segments in one pass; only a
 * segment of about a rule's token length is examined. Then the token's line must name a key and a provider word
 * must be near.
 */
function matchContext(lines: TextLines, runStart: number, runEnd: number, compiled: readonly CompiledContextRule[], out: RawMatch[]): void {
  const text = lines.text;
  let segmentStart = runStart;
  for (let i = runStart; i <= runEnd; i++) {
    if (i < runEnd && inTable(ALNUM, text.charCodeAt(i))) continue;
    const length = i - segmentStart;
    for (const { rule, tokenChars } of compiled) {
      if (length < rule.tokenLength || length > rule.tokenLength + MAX_ESCAPE_TAIL) continue;
      for (const start of findTokenRuns(text, segmentStart, i, tokenChars, rule.tokenLength)) {
        const end = start + rule.tokenLength;
        const secret = text.slice(start, end);
        if (rule.validate !== undefined && !rule.validate(secret)) continue;
        if (rule.notAfter !== undefined) {
          const before = text.slice(Math.max(lines.lineStart(start), start - DECODED_CONTEXT_CHARS), start);
          if (rule.notAfter.test(before)) continue;
        }
        if (!keyNamedFor(lines, start, end)) continue;
        if (!hasWordNear(lines, start, rule.keywords)) continue;
        if (isPlaceholder(secret)) continue;
        out.push({ rule, secret, start, end });
      }
    }
    segmentStart = i + 1;
  }
}

/** Scans decoded text with the key's line as context, and pins what it finds on the encoded run. */
function matchEncoded(
  lines: TextLines,
  run: EncodedRun,
  encoding: 'base64' | 'url',
  compiled: CompiledRules,
  decodeDepth: number,
  out: RawMatch[],
): void {
  const text = lines.text;
  const lineStart = Math.max(lines.lineStart(run.start), run.start - DECODED_CONTEXT_CHARS);
  const context = text.slice(lineStart, run.start);
  const inner = `${context}${run.decoded}`;
  // Skip the full scan unless the decoded text holds an anchor or a run long enough to be a bare token (or, one
  // level further down, another blob). The key's name usually sits before the blob (`MISTRAL_API_KEY: <base64>`),
  // so the context line is part of `inner`.
  const needsRuns = compiled.contextRules.length > 0 || decodeDepth > 1;
  if (!compiled.prefilter.test(inner) && (!needsRuns || findLongRuns(run.decoded).length === 0)) return;
  for (const match of matchAll(inner, compiled, decodeDepth - 1, false)) {
    if (match.start < context.length) continue;
    out.push({ rule: match.rule, secret: match.secret, start: run.start, end: run.end, encoding });
  }
}

/**
 * Matches a key joined from several literals, with the text around it as context. Only a match that straddles a
 * joint is new; one inside a single piece is the direct scan's. It is reported at its first character.
 */
function matchJoined(lines: TextLines, joined: JoinedLiteral, compiled: CompiledRules, out: RawMatch[]): boolean {
  let found = false;
  const text = lines.text;
  const first = joined.offsets[0] ?? 0;
  const before = text.slice(Math.max(lines.lineStartAbove(first, CONTEXT_LINES), first - JOINED_CONTEXT_CHARS), first);
  const after = text.slice(joined.end, Math.min(lines.lineEndBelow(joined.end, CONTEXT_LINES), joined.end + JOINED_CONTEXT_CHARS));
  const inner = `${before}${joined.text}${after}`;
  for (const match of matchAll(inner, compiled, 0, false)) {
    const from = match.start - before.length;
    const to = match.end - before.length;
    if (from < 0 || to > joined.text.length || !joined.breaks.some((b) => from < b && b < to)) continue;
    const start = joined.offsets[from] ?? first;
    const last = joined.offsets[to - 1] ?? start;
    // A span over several lines cannot be drawn as columns of one: then only the key's first piece is marked.
    const pieceEnd = (joined.offsets[(joined.breaks.find((b) => b > from) ?? to) - 1] ?? last) + 1;
    const end = lines.lineEnd(start) > last ? last + 1 : pieceEnd;
    out.push({ rule: match.rule, secret: match.secret, start, end, joined: true });
    found = true;
  }
  return found;
}

/** A direct match that a joined match extends (`"sk-proj-abc" + "def"` found `sk-proj-abc`) is the cut half. */
function dropCutHalves(out: RawMatch[]): RawMatch[] {
  const joined = out.filter((m) => m.joined === true);
  return out.filter(
    (m) =>
      m.joined === true ||
      m.encoding !== undefined ||
      !joined.some((j) => j.start === m.start && j.secret.length > m.secret.length && j.secret.startsWith(m.secret)),
  );
}

/**
 * Every rule match in `text`. One prefilter pass finds vendor anchors and encoded separators; one skip-ahead pass
 * finds long runs of base64 characters, which hold every prefix-less token and every base64 blob. Full rules run
 * only there. `decodeDepth` > 0 also looks inside base64 and URL-encoded runs, that many levels deep;
 * `joinLiterals` also matches keys split over concatenated string literals.
 */
export function matchAll(text: string, compiled: CompiledRules, decodeDepth: number, joinLiterals = true): RawMatch[] {
  const out: RawMatch[] = [];
  const lines = new TextLines(text);
  let urlDecodedUntil = -1;
  let joinedUntil = -1;
  let joinedAny = false;
  for (const [pos, literal] of compiled.prefilter.hits(text)) {
    const prefixRules = compiled.byAnchor.get(literal);
    if (prefixRules !== undefined) {
      matchPrefix(lines, pos, prefixRules, out);
      if (joinLiterals && pos >= joinedUntil) {
        const joined = joinedFrom(text, pos);
        if (joined !== undefined) {
          joinedUntil = joined.end;
          joinedAny = matchJoined(lines, joined, compiled, out) || joinedAny;
        }
      }
    } else if (decodeDepth > 0 && pos >= urlDecodedUntil) {
      // `%2D` / `%5F`: a key whose own `-` or `_` was percent-encoded.
      const run = urlRunAround(text, pos);
      urlDecodedUntil = run.end;
      matchEncoded(lines, run, 'url', compiled, decodeDepth, out);
    }
  }
  for (const [start, end] of findLongRuns(text)) {
    if (compiled.contextRules.length > 0) matchContext(lines, start, end, compiled.contextRules, out);
    if (decodeDepth > 0 && worthDecoding(text, start, end, lines.lineStart(start))) {
      const decoded = decodeBase64Run(text.slice(start, end));
      if (decoded !== undefined) matchEncoded(lines, { start, end, decoded }, 'base64', compiled, decodeDepth, out);
    }
  }
  return joinedAny ? dropCutHalves(out) : out;
}
