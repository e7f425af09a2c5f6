import { KeywardenError } from '../../errors/index.js';
import type { ReportFormat } from '../../scanner/reporters/index.js';
import { EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, writeLine, type CliIo } from '../io.js';
import type { SetStatus } from './index.js';
import { emitScanOutcome } from './scan-output.js';

/** The `scan` flags that select or tune a remote (GitHub / GitLab) scan. */
export interface RemoteScanFlags {
  githubOrg?: string[];
  githubRepo?: string[];
  gitlabGroup?: string[];
  githubApi?: string;
  gitlabApi?: string;
  tokenEnv?: string;
  includeForks?: boolean;
  includeGists?: boolean;
  cacheDir?: string;
  cacheMaxSize?: string;
  sarifDir?: string;
  /** `--no-history` (commander sets `history: false`). */
  history?: boolean;
}

export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function isRemoteScan(flags: RemoteScanFlags): boolean {
  return (flags.githubOrg?.length ?? 0) + (flags.githubRepo?.length ?? 0) + (flags.gitlabGroup?.length ?? 0) > 0;
}

/** `10G`, `500M`, `2048K` or a byte count. */
export function parseSize(value: string): number {
  const match = /^(\d{1,15})([KMGT]?)i?B?$/i.exec(value.trim());
  if (match === null) throw new KeywardenError('KW_USAGE', { message: '--cache-max-size takes a size such as 500M or 10G' });
  const power = ' KMGT'.indexOf((match[2] ?? '').toUpperCase() || ' ');
  return Number(match[1]) * 1024 ** power;
}

/** Flags that only make sense for a remote scan are an error without one, rather than silently ignored. */
export function checkRemoteOnlyFlags(flags: RemoteScanFlags): void {
  const stray = (
    [
      ['--github-api', flags.githubApi],
      ['--gitlab-api', flags.gitlabApi],
      ['--token-env', flags.tokenEnv],
      ['--include-forks', flags.includeForks],
      ['--include-gists', flags.includeGists],
      ['--cache-dir', flags.cacheDir],
      ['--cache-max-size', flags.cacheMaxSize],
      ['--sarif-dir', flags.sarifDir],
      ['--no-history', flags.history === false ? true : undefined],
    ] as const
  ).find(([, value]) => value !== undefined);
  if (stray !== undefined) throw new KeywardenError('KW_USAGE', { message: `${stray[0]} applies only with --github-org, --github-repo or --gitlab-group` });
}

export interface LocalSourceFlags {
  git?: boolean;
  staged?: boolean;
  range?: string;
  stdin?: boolean;
  since?: string;
  verify?: boolean;
  writeBaseline?: string;
  config?: string;
  baseline?: string;
  format: ReportFormat;
  output?: string;
  showSecrets?: boolean;
  quiet?: boolean;
  revokeLeaked?: boolean;
  revoke?: boolean;
  yes?: boolean;
}

/** Runs the remote scan for the CLI; `--since` here is a date, not a ref. */
async function remoteScanFromFlags(paths: readonly string[], flags: RemoteScanFlags & LocalSourceFlags, io: CliIo) {
  if (paths.length > 0 || flags.git === true || flags.staged === true || flags.range !== undefined || flags.stdin === true) {
    throw new KeywardenError('KW_USAGE', { message: 'A remote scan (--github-org, --github-repo, --gitlab-group) cannot be combined with paths, --git, --staged, --range or --stdin.' });
  }
  if (flags.includeGists === true && (flags.githubOrg?.length ?? 0) + (flags.githubRepo?.length ?? 0) === 0) {
    throw new KeywardenError('KW_USAGE', { message: '--include-gists applies to GitHub (--github-org or --github-repo)' });
  }
  if (flags.history === false && flags.since !== undefined) throw new KeywardenError('KW_USAGE', { message: 'Choose one of --since and --no-history.' });
  if (flags.writeBaseline !== undefined || flags.verify === true) {
    throw new KeywardenError('KW_USAGE', { message: '--write-baseline and --verify are not supported with a remote scan yet' });
  }
  const { runRemoteScan } = await import('../../scanner/remote/scan-remote.js');
  return runRemoteScan({
    githubOrgs: flags.githubOrg ?? [],
    githubRepos: flags.githubRepo ?? [],
    gitlabGroups: flags.gitlabGroup ?? [],
    includeForks: flags.includeForks === true,
    includeGists: flags.includeGists === true,
    tipsOnly: flags.history === false,
    cwd: io.cwd,
    env: io.env,
    ...(flags.githubApi !== undefined ? { githubApi: flags.githubApi } : {}),
    ...(flags.gitlabApi !== undefined ? { gitlabApi: flags.gitlabApi } : {}),
    ...(flags.tokenEnv !== undefined ? { tokenEnv: flags.tokenEnv } : {}),
    ...(flags.since !== undefined ? { since: flags.since } : {}),
    ...(flags.cacheDir !== undefined ? { cacheDir: flags.cacheDir } : {}),
    ...(flags.cacheMaxSize !== undefined ? { cacheMaxBytes: parseSize(flags.cacheMaxSize) } : {}),
    ...(flags.sarifDir !== undefined ? { sarifDir: flags.sarifDir } : {}),
    ...(flags.config !== undefined ? { configFile: flags.config } : {}),
    ...(flags.baseline !== undefined ? { baseline: flags.baseline } : {}),
  });
}

/** `scan --github-org/--github-repo/--gitlab-group`: scan, revoke when asked, report, and set the exit status. */
export async function runRemoteScanCommand(paths: readonly string[], flags: RemoteScanFlags & LocalSourceFlags, io: CliIo, setStatus: SetStatus): Promise<void> {
  const outcome = await remoteScanFromFlags(paths, flags, io);
  for (const warning of outcome.warnings) writeLine(io.stderr, `keywarden: ${warning}`);
  const failed = outcome.failed > 0 ? `, ${outcome.failed} could not be scanned` : '';
  writeLine(io.stderr, `keywarden: scanned ${outcome.scanned} repositor${outcome.scanned === 1 ? 'y' : 'ies'}${failed}`);
  await emitScanOutcome(flags, outcome, io);
  // Findings first (1); otherwise a repository left unscanned makes the run incomplete (2), never clean (0).
  setStatus(outcome.findings.length > 0 ? EXIT_FINDINGS : outcome.failed > 0 ? EXIT_ERROR : EXIT_OK);
}
