import type { Command } from 'commander';
import path from 'node:path';
import { claimDataDir } from '../../datadir/open-data-dir.js';
import { KeywardenError } from '../../errors/index.js';
import { copySqliteToPostgres } from '../../store/migrate/copy-to-postgres.js';
import { isPostgresUrl } from '../../store/postgres/postgres-store.js';
import { writeJson, writeLine, type CliIo } from '../io.js';

/** `sqlite:./.keywarden`, `sqlite:/abs/dir` or a plain directory. */
function sourceDir(from: string, cwd: string): string {
  const dir = from.startsWith('sqlite:') ? from.slice('sqlite:'.length) : from;
  if (dir === '') throw new KeywardenError('KW_USAGE', { message: '--from: expected sqlite:<data directory>' });
  return path.resolve(cwd, dir);
}

/** The URL without its password, for messages. */
function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '****';
    return parsed.toString();
  } catch {
    return 'the target database';
  }
}

export function registerMigrate(program: Command, io: CliIo): void {
  program
    .command('migrate')
    .description('Copy a SQLite data directory into PostgreSQL (keys stay valid, the vault stays sealed, the audit chain verifies).')
    .requiredOption('--from <source>', 'sqlite:<data directory>, e.g. sqlite:./.keywarden')
    .requiredOption('--to <url>', 'postgres://… URL of the target database (use an env var: the URL may hold a password)')
    .option('--force', 'replace the contents of a non-empty target')
    .option('--json', 'print JSON')
    .action(async (flags: { from: string; to: string; force?: boolean; json?: boolean }) => {
      if (!isPostgresUrl(flags.to)) throw new KeywardenError('KW_USAGE', { message: '--to: expected a postgres:// or postgresql:// URL' });
      const dir = sourceDir(flags.from, io.cwd);
      // Refused while a server holds the data directory: a copy of a database that is being written is not a copy.
      const claim = claimDataDir(dir, 'keywarden migrate', null);
      try {
        const report = await copySqliteToPostgres(dir, flags.to, { force: flags.force === true });
        if (flags.json) {
          writeJson(io.stdout, { migrated: true, ...report });
          return;
        }
        for (const [table, rows] of Object.entries(report.tables)) writeLine(io.stdout, `${table.padEnd(20)} ${rows}`);
        if (report.openReservations > 0) writeLine(io.stdout, `${report.openReservations} open budget reservation(s) carried over; the first start charges them.`);
        writeLine(io.stdout, `Copied ${dir} to ${redactUrl(flags.to)}. Start keywarden with KEYWARDEN_DATABASE_URL and the same master key.`);
      } finally {
        claim.release();
      }
    });
}
