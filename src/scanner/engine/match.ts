import type { Rule } from '../rules/index.js';
import { isPlaceholder } from '../placeholder.js';
import { ALNUM, findTokenRuns, inTable, keyMayStartAt } from './char-table.js';
import type { CompiledContextRule, CompiledPrefixRule, CompiledRules } from './compile.js';
import { decodeBase64Run, findLongRuns, urlRunAround, type EncodedRun } from './decode.js';

/** A rule match as offsets into the scanned text; turned into a Finding by engine.ts. */
export interface RawMatch {
  rule: Rule;
  secret: string;
  start: number;
  end: number;
  encoding?: 'base64' | 'url';
}

/** How far around a token a context rule looks for a provider word: lines each way, characters each way. */
const CONTEXT_LINES = 3;
const CONTEXT_CHARS = 1024;
/** A bare token counts only on a line that names a key; the token itself is cut out before testing. */
const KEY_NAME = /key|secret|token|auth|bearer|passw|credential/i;
/** How much of the line before an encoded blob is kept as context for the decoded text (the key's name). */
const DECODED_CONTEXT_CHARS = 200;

/** [start, end) of the lines around `pos`: CONTEXT_LINES each way, at most CONTEXT_CHARS each way. */
function contextWindow(text: string, pos: number): [number, number] {
  // Walk back newline by newline (native lastIndexOf), to the start of the line CONTEXT_LINES above.
  let before = text.lastIndexOf('\n', pos - 1);
  for (let lines = 0; lines < CONTEXT_LINES && before > 0; lines++) before = text.lastIndexOf('\n', before - 1);
  let after = text.indexOf('\n', pos);
  for (let lines = 0; lines < CONTEXT_LINES && after !== -1; lines++) after = text.indexOf('\n', after + 1);
  const end = after === -1 ? text.length : after;
  return [Math.max(before + 1, pos - CONTEXT_CHARS), Math.min(end, pos + CONTEXT_CHARS)];
}

function lineBounds(text: string, start: number, end: number): [number, number] {
  const lineStart = text.lastIndexOf('\n', start - 1) + 1;
  const newline = text.indexOf('\n', end);
  return [lineStart, newline === -1 ? text.length : newline];
}

function hasWordNear(text: string, pos: number, words: readonly string[]): boolean {
  const [start, end] = contextWindow(text, pos);
  const window = text.slice(start, end).toLowerCase();
  return words.some((word) => window.includes(word));
}

function matchPrefix(text: string, pos: number, candidates: readonly CompiledPrefixRule[], out: RawMatch[]): void {
  if (!keyMayStartAt(text, pos)) return;
  for (const { rule, charset } of candidates) {
    if (!text.startsWith(rule.prefix, pos)) continue;
    let end = pos + rule.prefix.length;
    while (end < text.length && inTable(charset, text.charCodeAt(end))) end++;
    const secret = text.slice(pos, end);
    if (!rule.shape.test(secret)) continue;
    if (rule.contextWords !== undefined && !hasWordNear(text, pos, rule.contextWords)) continue;
    // The first rule whose shape fits owns the token: a placeholder stops here instead of falling to a looser rule.
    if ((rule.validate === undefined || rule.validate(secret)) && !isPlaceholder(secret.slice(rule.prefix.length))) {
      out.push({ rule, secret, start: pos, end });
    }
    return;
  }
}

/** Longest escape tail a token may carry at the start of its alphanumeric segment (`u0022` of `\u0022`). */
const MAX_ESCAPE_TAIL = 5;

/**
 * Context rules, found from the token side. A long run is split into its alphanumeric segments in one pass; only a
 * segment of about a rule's token length is examined. Then the token's line must name a key and a provider word
 * must be near.
 */
function matchContext(text: string, runStart: number, runEnd: number, compiled: readonly CompiledContextRule[], out: RawMatch[]): void {
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
        const [lineStart, lineEnd] = lineBounds(text, start, end);
        const lineWithoutToken = text.slice(lineStart, start) + text.slice(end, lineEnd);
        if (!KEY_NAME.test(lineWithoutToken)) continue;
        if (!hasWordNear(text, start, rule.keywords)) continue;
        if (isPlaceholder(secret)) continue;
        out.push({ rule, secret, start, end });
      }
    }
    segmentStart = i + 1;
  }
}

/** Scans decoded text with the key's line as context, and pins what it finds on the encoded run. */
function matchEncoded(
  text: string,
  run: EncodedRun,
  encoding: 'base64' | 'url',
  compiled: CompiledRules,
  out: RawMatch[],
): void {
  const lineStart = Math.max(text.lastIndexOf('\n', run.start - 1) + 1, run.start - DECODED_CONTEXT_CHARS);
  const context = text.slice(lineStart, run.start);
  const inner = `${context}${run.decoded}`;
  // Skip the full scan unless the decoded text holds an anchor or a run long enough to be a bare token. The key's
  // name usually sits before the blob (`MISTRAL_API_KEY: <base64>`), so the context line is part of `inner`.
  if (!compiled.prefilter.test(inner) && (compiled.contextRules.length === 0 || findLongRuns(run.decoded).length === 0)) return;
  for (const match of matchAll(inner, compiled, 0)) {
    if (match.start < context.length) continue;
    out.push({ rule: match.rule, secret: match.secret, start: run.start, end: run.end, encoding });
  }
}

/**
 * Every rule match in `text`. One prefilter pass finds vendor anchors and encoded separators; one skip-ahead pass
 * finds long runs of base64 characters, which hold every prefix-less token and every base64 blob. Full rules run
 * only there. `decodeDepth` > 0 also looks inside base64 and URL-encoded runs.
 */
export function matchAll(text: string, compiled: CompiledRules, decodeDepth: number): RawMatch[] {
  const out: RawMatch[] = [];
  let urlDecodedUntil = -1;
  for (const [pos, literal] of compiled.prefilter.hits(text)) {
    const prefixRules = compiled.byAnchor.get(literal);
    if (prefixRules !== undefined) {
      matchPrefix(text, pos, prefixRules, out);
    } else if (decodeDepth > 0 && pos >= urlDecodedUntil) {
      // `%2D` / `%5F`: a key whose own `-` or `_` was percent-encoded.
      const run = urlRunAround(text, pos);
      urlDecodedUntil = run.end;
      matchEncoded(text, run, 'url', compiled, out);
    }
  }
  for (const [start, end] of findLongRuns(text)) {
    if (compiled.contextRules.length > 0) matchContext(text, start, end, compiled.contextRules, out);
    if (decodeDepth > 0) {
      const decoded = decodeBase64Run(text.slice(start, end));
      if (decoded !== undefined) matchEncoded(text, { start, end, decoded }, 'base64', compiled, out);
    }
  }
  return out;
}
