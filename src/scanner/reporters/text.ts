import { createColors } from 'picocolors';
import type { ReportableFinding } from '../finding.js';
import { totalSkipped, type SkipSummary } from '../sources/skipped.js';
import { cleanSummary, skippedLines } from './skipped-text.js';

export interface TextReportOptions {
  color: boolean;
  /** Number of findings the baseline hid, mentioned so a clean report is not mistaken for an unscanned one. */
  suppressed?: number;
  skipped?: SkipSummary | undefined;
}

/** Human report: findings grouped by file, each with position, rule, masked key and (if known) commit and status. */
export function renderText(findings: readonly ReportableFinding[], options: TextReportOptions): string {
  const c = createColors(options.color);
  const lines: string[] = [];
  const byPath = new Map<string, ReportableFinding[]>();
  for (const finding of findings) byPath.set(finding.path, [...(byPath.get(finding.path) ?? []), finding]);
  for (const [file, group] of byPath) {
    lines.push(c.bold(c.underline(file || '<stdin>')));
    for (const f of group) {
      const where = c.dim(`${f.line}:${f.column}`.padEnd(9));
      const status =
        f.verification === 'live' ? c.red(' LIVE') : f.verification === 'invalid' ? c.green(' invalid') : f.verification === 'unknown' ? c.yellow(' unverified') : '';
      const encoded = f.encoding !== undefined ? c.dim(` (${f.encoding}-encoded)`) : '';
      lines.push(`  ${where} ${c.red(f.title)}  ${c.cyan(f.secret)}${encoded}${status}  ${c.dim(f.ruleId)}`);
      if (f.commit !== undefined) {
        lines.push(`  ${' '.repeat(9)} ${c.dim(`commit ${f.commit.sha.slice(0, 12)} by ${f.commit.author} <${f.commit.email}> on ${f.commit.date}`)}`);
      }
      if (f.url !== undefined) lines.push(`  ${' '.repeat(9)} ${c.dim(f.url)}`);
    }
    lines.push('');
  }
  const files = byPath.size;
  const summary =
    findings.length === 0
      ? // Clean but incomplete is not green: something was left unread.
        (options.skipped !== undefined && totalSkipped(options.skipped) > 0 ? c.yellow : c.green)(cleanSummary(options.skipped))
      : c.red(`${findings.length} AI key${findings.length === 1 ? '' : 's'} found in ${files} file${files === 1 ? '' : 's'}.`);
  lines.push(summary + (options.suppressed ? c.dim(` (${options.suppressed} known finding(s) hidden by the baseline)`) : ''));
  const skipped = skippedLines(options.skipped);
  // The secret-like names are the one thing here worth a colour: they are why a clean report may be wrong.
  for (const line of skipped) lines.push(line.startsWith('Gitignored files') ? c.yellow(line) : c.dim(line));
  if (findings.length > 0) {
    lines.push(c.dim('Revoke and rotate each key at its provider, then remove it from the code (and history, if committed).'));
    lines.push(c.dim('Accepted strings: add "keywarden:allow" on the line, or record them with --write-baseline.'));
  }
  return `${lines.join('\n')}\n`;
}
