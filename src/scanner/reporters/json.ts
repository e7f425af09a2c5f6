import type { ReportableFinding } from '../finding.js';

/** Machine report: the findings as reportable objects (secret masked unless --show-secrets) plus a summary. */
export function renderJson(findings: readonly ReportableFinding[]): string {
  return `${JSON.stringify({ version: 1, tool: 'keywarden', findings, summary: { total: findings.length } }, null, 2)}\n`;
}
