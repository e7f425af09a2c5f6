import { createHash } from 'node:crypto';
import { maskSecret } from '../keys/index.js';
import type { Finding } from './types.js';

/** The baseline key: a hash of the secret alone, so it survives edits, line moves and renames. */
export function fingerprintOf(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** A finding as reporters see it: `secret` is masked unless the user explicitly asked to see secrets. */
export type ReportableFinding = Omit<Finding, 'secret'> & { secret: string; masked: boolean };

/**
 * The one place where a finding's secret becomes printable. Every reporter (text, JSON, SARIF) and every log or
 * error message goes through here, so masking does not depend on each output remembering to do it.
 */
export function toReportable(finding: Finding, showSecrets: boolean): ReportableFinding {
  return { ...finding, secret: showSecrets ? finding.secret : maskSecret(finding.secret), masked: !showSecrets };
}

/** Stable report order: by path, then position, then rule. */
export function compareFindings(a: Finding, b: Finding): number {
  return (
    (a.path < b.path ? -1 : a.path > b.path ? 1 : 0) ||
    a.line - b.line ||
    a.column - b.column ||
    (a.ruleId < b.ruleId ? -1 : a.ruleId > b.ruleId ? 1 : 0)
  );
}
