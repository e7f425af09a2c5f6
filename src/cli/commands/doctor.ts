import type { Command } from 'commander';
import type { DoctorReport } from '../../doctor/finding.js';
import { AdminClient } from '../admin-client.js';
import { EXIT_FINDINGS, EXIT_OK, writeJson, writeLine, type CliIo } from '../io.js';
import type { SetStatus } from './index.js';

/** `keywarden doctor`: posture findings with severity and a one-line fix each; exit 1 on any high finding (CI). */
export function registerDoctor(program: Command, io: CliIo, setStatus: SetStatus): void {
  program
    .command('doctor')
    .description('Check the security posture: master key, admin tokens, key scopes and limits, unused keys, shadow keys at the provider.')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      const report = await new AdminClient(io.env).request<DoctorReport>('GET', '/doctor');
      if (flags.json) {
        writeJson(io.stdout, report);
      } else {
        for (const f of report.findings) {
          writeLine(io.stdout, `${f.severity.toUpperCase().padEnd(6)} ${f.check}  ${f.message}`);
          writeLine(io.stdout, `       fix: ${f.fix}`);
        }
        for (const s of report.skipped) writeLine(io.stdout, `skipped: ${s}`);
        const c = report.counts;
        writeLine(io.stdout, `${report.findings.length} finding(s): ${c.high} high, ${c.medium} medium, ${c.low} low, ${c.info} info.`);
      }
      setStatus(report.counts.high > 0 ? EXIT_FINDINGS : EXIT_OK);
    });
}
