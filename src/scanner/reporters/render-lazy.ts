import type { Finding } from '../types.js';
import type { ReportFormat } from './formats.js';
import type { RenderOptions } from './index.js';

/**
 * renderReport for the CLI, loading only the reporter it needs: a pre-commit `scan --staged` prints text or JSON
 * and never loads SARIF.
 */
export async function renderReportLazily(format: ReportFormat, findings: readonly Finding[], options: RenderOptions): Promise<string> {
  if (format === 'sarif') return (await import('./index.js')).renderReport(format, findings, options);
  const [{ compareFindings, toReportable }, reporter] = await Promise.all([
    import('../finding.js'),
    format === 'json' ? import('./json.js') : import('./text.js'),
  ]);
  const reportable = [...findings].sort(compareFindings).map((finding) => toReportable(finding, options.showSecrets));
  if ('renderJson' in reporter) return reporter.renderJson(reportable, options.skipped);
  return reporter.renderText(reportable, { color: options.color, suppressed: options.suppressed ?? 0, skipped: options.skipped });
}
