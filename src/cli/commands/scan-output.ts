import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { SkipSummary } from '../../scanner/sources/skipped.js';
import type { ReportFormat } from '../../scanner/reporters/formats.js';
import { renderReportLazily } from '../../scanner/reporters/render-lazy.js';
import type { Finding } from '../../scanner/types.js';
import type { CliIo } from '../io.js';

export interface ScanOutputFlags {
  format: ReportFormat;
  output?: string;
  showSecrets?: boolean;
  quiet?: boolean;
  revoke?: boolean;
  revokeLeaked?: boolean;
  yes?: boolean;
}

export interface ScanOutputOutcome {
  findings: Finding[];
  suppressed: number;
  skipped?: SkipSummary;
}

/**
 * What every scan does with its findings, whatever their source (local tree, history, a remote organisation):
 * revoke them when asked, then render the report to `--output` or stdout (nothing for a quiet, clean text scan).
 */
export async function emitScanOutcome(flags: ScanOutputFlags, outcome: ScanOutputOutcome, io: CliIo): Promise<void> {
  if ((flags.revoke === true || flags.revokeLeaked === true) && outcome.findings.length > 0) {
    const { revokeLeakedKeys } = await import('./scan-revoke.js');
    await revokeLeakedKeys(outcome.findings, flags.yes === true, io);
  }
  const report = await renderReportLazily(flags.format, outcome.findings, {
    showSecrets: flags.showSecrets === true,
    color: flags.output === undefined && io.stdout.isTTY === true && io.env.NO_COLOR === undefined,
    suppressed: outcome.suppressed,
    ...(outcome.skipped !== undefined ? { skipped: outcome.skipped } : {}),
  });
  if (flags.output !== undefined) await writeFile(path.resolve(io.cwd, flags.output), report);
  else if (!(flags.quiet === true && flags.format === 'text' && outcome.findings.length === 0)) io.stdout.write(report);
}
