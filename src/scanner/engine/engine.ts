import { ALL_RULES, type Rule } from '../rules/index.js';
import { fingerprintOf } from '../finding.js';
import type { Finding, ScanTextOptions } from '../types.js';
import { compileRules, type CompiledRules } from './compile.js';
import { LineLocator } from './line-locator.js';
import { matchAll } from './match.js';

/** A comment on the same line that marks a known, accepted string. */
export const ALLOW_MARKER = 'keywarden:allow';

/** How many encodings deep a key is looked for: base64 inside base64 (`.dockerconfigjson` auth) and one more. */
export const MAX_DECODE_DEPTH = 3;

const compiledCache = new Map<string, CompiledRules>();

function compiledFor(disabled: ReadonlySet<string> | undefined): CompiledRules {
  const key = disabled === undefined || disabled.size === 0 ? '' : [...disabled].sort().join(',');
  let compiled = compiledCache.get(key);
  if (compiled === undefined) {
    const rules: Rule[] = ALL_RULES.filter((rule) => !(disabled?.has(rule.id) ?? false));
    compiled = compileRules(rules);
    compiledCache.set(key, compiled);
  }
  return compiled;
}

/**
 * The scanner's pure core: text in, findings out, no I/O. Columns count UTF-16 code units of `text`.
 * Findings on a line carrying `keywarden:allow` are dropped here, so every source honours the marker the same way.
 */
export function scanText(text: string, options: ScanTextOptions = {}): Finding[] {
  const matches = matchAll(text, compiledFor(options.disabledRules), options.decode === false ? 0 : MAX_DECODE_DEPTH);
  if (matches.length === 0) return [];
  const locator = new LineLocator(text);
  const seen = new Set<string>();
  // The allow marker is looked up once per line: many findings on one long line must not each copy the line.
  const allowedLines = new Map<number, boolean>();
  const findings: Finding[] = [];
  for (const match of matches) {
    const dedupeKey = `${match.rule.id}\u0000${match.start}\u0000${match.secret}`;
    if (seen.has(dedupeKey)) continue;
    seen.add(dedupeKey);
    const lineIndex = locator.lineIndex(match.start);
    let allowed = allowedLines.get(lineIndex);
    if (allowed === undefined) {
      allowed = locator.lineText(match.start).includes(ALLOW_MARKER);
      allowedLines.set(lineIndex, allowed);
    }
    if (allowed) continue;
    const { line, column } = locator.position(match.start);
    const finding: Finding = {
      ruleId: match.rule.id,
      provider: match.rule.provider,
      title: match.rule.title,
      secret: match.secret,
      fingerprint: fingerprintOf(match.secret),
      path: options.path ?? '',
      line,
      column,
      endColumn: column + (match.end - match.start),
    };
    if (match.encoding !== undefined) finding.encoding = match.encoding;
    findings.push(finding);
  }
  return findings;
}

function hasNonAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return true;
  return false;
}

/** True when the bytes look binary: a NUL in the first 8,000 bytes, the same test git uses. */
export function looksBinary(bytes: Uint8Array): boolean {
  const limit = Math.min(bytes.length, 8000);
  for (let i = 0; i < limit; i++) if (bytes[i] === 0) return true;
  return false;
}

/**
 * Scans file bytes. Keys are ASCII, so the text is read as latin1 (one byte per character, several times faster
 * than UTF-8 decoding); only the columns of findings on lines with non-ASCII bytes are then corrected to UTF-16.
 */
export function scanBytes(bytes: Buffer, options: ScanTextOptions = {}): Finding[] {
  const text = bytes.toString('latin1');
  const findings = scanText(text, options);
  if (findings.length === 0) return findings;
  const locator = new LineLocator(text);
  for (const finding of findings) {
    const lineStart = locator.offsetOf(finding.line, 1);
    const before = text.slice(lineStart, lineStart + finding.column - 1);
    if (hasNonAscii(before)) {
      const width = finding.endColumn - finding.column;
      finding.column = Buffer.from(before, 'latin1').toString('utf8').length + 1;
      finding.endColumn = finding.column + width;
    }
  }
  return findings;
}
