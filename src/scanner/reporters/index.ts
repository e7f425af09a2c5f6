import { compareFindings, toReportable } from '../finding.js';
import type { SkipSummary } from '../sources/skipped.js';
import type { Finding } from '../types.js';
import { toolVersion } from '../version.js';
import { renderJson } from './json.js';
import { renderSarif } from './sarif.js';
import { renderText } from './text.js';

import type { ReportFormat } from './formats.js';

export { REPORT_FORMATS, type ReportFormat } from './formats.js';

export interface RenderOptions {
  showSecrets: boolean;
  color: boolean;
  suppressed?: number;
  /** What a path scan left out; reported in text, JSON and SARIF (as invocation notifications). */
  skipped?: SkipSummary | undefined;
}

/** Renders findings in one format. Secrets pass through toReportable here, and only here. */
export function renderReport(format: ReportFormat, findings: readonly Finding[], options: RenderOptions): string {
  const reportable = [...findings].sort(compareFindings).map((finding) => toReportable(finding, options.showSecrets));
  if (format === 'json') return renderJson(reportable, options.skipped);
  if (format === 'sarif') return renderSarif(reportable, { toolVersion: toolVersion(), skipped: options.skipped });
  return renderText(reportable, { color: options.color, suppressed: options.suppressed ?? 0, skipped: options.skipped });
}
