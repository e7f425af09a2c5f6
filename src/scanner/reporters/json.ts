import type { ReportableFinding } from '../finding.js';
import { totalSkipped, type SkipSummary } from '../sources/skipped.js';

/**
 * Machine report: the findings as reportable objects (secret masked unless --show-secrets) plus a summary, which
 * for path scans says what was not scanned and why (`summary.skipped`).
 */
export function renderJson(findings: readonly ReportableFinding[], skipped?: SkipSummary): string {
  const summary: Record<string, unknown> = { total: findings.length };
  if (skipped !== undefined) {
    summary.skipped = {
      total: totalSkipped(skipped),
      ...skipped.files,
      gitignoredDirectories: skipped.gitignoredDirectories,
      gitignoredSensitive: skipped.gitignoredSensitive,
      gitignoredSensitiveTotal: skipped.gitignoredSensitiveTotal,
      maxFileSize: skipped.maxFileSize ?? null,
      scannedFiles: skipped.scannedFiles,
      binaryMembers: skipped.binaryMembers,
      files: skipped.named,
      filesTotal: skipped.namedTotal,
      include: skipped.files.gitignored > 0 || skipped.gitignoredDirectories > 0 ? 'keywarden scan --no-gitignore' : null,
    };
  }
  return `${JSON.stringify({ version: 1, tool: 'keywarden', findings, summary }, null, 2)}\n`;
}
