import { Option, type Command } from 'commander';
import { KeywardenError } from '../../errors/index.js';
import { REPORT_FORMATS, type ReportFormat } from '../../scanner/reporters/formats.js';
import { runScan, type ScanRequest, type ScanSource } from '../../scanner/run-scan.js';
import { EXIT_FINDINGS, EXIT_OK, readAll, writeLine, type CliIo } from '../io.js';
import type { SetStatus } from './index.js';
import { emitScanOutcome } from './scan-output.js';
import { checkRemoteOnlyFlags, collect, isRemoteScan, parseSize, runRemoteScanCommand, type RemoteScanFlags } from './scan-remote.js';

interface ScanFlags extends RemoteScanFlags {
  git?: boolean;
  staged?: boolean;
  since?: string;
  range?: string;
  stdin?: boolean;
  stdinPath: string;
  format: ReportFormat;
  json?: boolean;
  output?: string;
  showSecrets?: boolean;
  baseline?: string;
  writeBaseline?: string;
  config?: string;
  gitignore: boolean;
  verify?: boolean;
  verifyEndpoint?: string[];
  revokeLeaked?: boolean;
  revoke?: boolean;
  yes?: boolean;
  quiet?: boolean;
  progress: boolean;
  maxFileSize?: string;
}

/** `--max-file-size 50M`: the cap users may set (there is none by default). */
function maxFileSizeFlag(value: string): number {
  let bytes: number;
  try {
    bytes = parseSize(value);
  } catch {
    bytes = 0;
  }
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new KeywardenError('KW_USAGE', { message: '--max-file-size takes a size such as 500K, 50M or 2G' });
  }
  return bytes;
}

async function sourceFrom(paths: string[], flags: ScanFlags, io: CliIo): Promise<ScanSource> {
  const chosen = [flags.git, flags.staged, flags.since !== undefined, flags.range !== undefined, flags.stdin].filter(Boolean).length;
  if (chosen > 1 || (chosen === 1 && paths.length > 0)) {
    throw new KeywardenError('KW_USAGE', { message: 'Choose one source: paths, --git, --staged, --since, --range or --stdin.' });
  }
  if (flags.git === true) return { kind: 'git' };
  if (flags.staged === true) return { kind: 'staged' };
  if (flags.since !== undefined) return { kind: 'range', range: `${flags.since}..HEAD` };
  if (flags.range !== undefined) return { kind: 'range', range: flags.range };
  if (flags.stdin === true) return { kind: 'stdin', text: await readAll(io.stdin), path: flags.stdinPath };
  return { kind: 'paths', paths: paths.length > 0 ? paths : ['.'] };
}

/** `keywarden scan`: find AI keys in files, git history, staged changes, a pushed range or stdin. */
export function registerScan(program: Command, io: CliIo, setStatus: SetStatus): void {
  program
    .command('scan')
    .description('Scan files, git history, staged changes or stdin for AI API keys.')
    .argument('[paths...]', 'files or directories to scan (default: .)')
    .option('--git', 'scan every commit on every ref, including deleted content')
    .option('--staged', 'scan only the lines staged for commit (pre-commit)')
    .option('--since <ref>', 'scan only what commits after <ref> add (CI); with a remote source, a date: history since then')
    .option('--range <a..b>', 'scan only what the commits in a range add (CI)')
    .option('--stdin', 'scan standard input')
    .option('--stdin-path <name>', 'path to report for --stdin', '<stdin>')
    .addOption(new Option('-f, --format <format>', 'report format').choices(REPORT_FORMATS).default('text'))
    .option('--json', 'same as --format json')
    .option('-o, --output <file>', 'write the report to a file instead of stdout')
    .option('--show-secrets', 'print secrets unmasked (default: prefix and last 4 characters)')
    .option('--baseline <file>', 'report only findings not in this baseline')
    .option('--write-baseline <file>', 'write all current findings to a baseline file')
    .option('-c, --config <file>', 'config file (default: keywarden.config.json / .yaml)')
    .option('--no-gitignore', 'also scan files that .gitignore excludes')
    .option('--verify', 'ask each provider whether the keys found are live')
    .option(
      '--verify-endpoint <provider=url>',
      'send verification for PROVIDER to URL instead of its official host (repeatable; a project config cannot do this)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option('--revoke', 'revoke leaked keys through the gateway: kw_ keys at once, provider keys with --yes (KEYWARDEN_URL, KEYWARDEN_ADMIN_TOKEN)')
    .option('--yes', 'with --revoke: act on provider keys (default: dry run)')
    .option('--revoke-leaked', 'alias of --revoke (kept for existing scripts)')
    .option('-q, --quiet', 'no progress bar and no output when nothing is found')
    .option('--no-progress', 'never draw a progress bar')
    .option('--max-file-size <size>', 'skip (and count) files larger than this, e.g. 50M (default: no cap; any size is scanned in bounded memory)')
    .option('--github-org <org>', 'scan every repository of a GitHub organisation (repeatable; token: GITHUB_TOKEN)', collect)
    .option('--github-repo <owner/name>', 'scan one GitHub repository (repeatable)', collect)
    .option('--gitlab-group <group>', 'scan every project of a GitLab group and its subgroups (repeatable; token: GITLAB_TOKEN)', collect)
    .option('--token-env <var>', 'read the GitHub/GitLab token from this environment variable')
    .option('--include-forks', 'remote scan: also scan forks')
    .option('--include-gists', 'remote scan: also scan gists (of the organisation\'s members, or of the repository owner)')
    .option('--github-api <url>', 'GitHub API base URL (GitHub Enterprise: https://HOST/api/v3)')
    .option('--gitlab-api <url>', 'GitLab API base URL (self-hosted: https://HOST/api/v4)')
    .option('--cache-dir <dir>', 'remote scan: where fetched repositories are kept (default: the OS cache dir)')
    .option('--cache-max-size <size>', 'remote scan: evict least recently used repositories above this size (default 10G)')
    .option('--sarif-dir <dir>', 'remote scan: also write one SARIF file per repository here')
    .option('--no-history', 'remote scan: fetch and scan only the tip of every branch and tag (--depth 1)')
    .action(async (paths: string[], flags: ScanFlags) => {
      if (flags.json === true) {
        if (flags.format !== 'text' && flags.format !== 'json') {
          throw new KeywardenError('KW_USAGE', { message: `--json contradicts --format ${flags.format}: choose one.` });
        }
        flags.format = 'json';
      }
      if (isRemoteScan(flags)) return runRemoteScanCommand(paths, flags, io, setStatus);
      checkRemoteOnlyFlags(flags);
      const request: ScanRequest = {
        source: await sourceFrom(paths, flags, io),
        cwd: io.cwd,
        env: io.env,
        gitignore: flags.gitignore,
        verify: flags.verify === true,
      };
      if (flags.config !== undefined) request.configFile = flags.config;
      if (flags.maxFileSize !== undefined) request.maxFileSize = maxFileSizeFlag(flags.maxFileSize);
      if (flags.verifyEndpoint !== undefined) {
        const { parseVerifyEndpointFlags } = await import('../../scanner/verify/endpoints.js');
        request.verifyEndpoints = parseVerifyEndpointFlags(flags.verifyEndpoint);
      }
      if (flags.baseline !== undefined) request.baseline = flags.baseline;
      if (flags.writeBaseline !== undefined) request.writeBaseline = flags.writeBaseline;
      // A bar only for a person watching: on a TTY, outside CI, and not when asked to be quiet.
      const ci = io.env.CI !== undefined && io.env.CI !== '' && io.env.CI !== 'false';
      if (flags.progress && flags.quiet !== true && io.stderr.isTTY === true && !ci) {
        // Loaded only here: cli-progress is not needed off a TTY (CI, hooks, pipes).
        const { createProgressBar } = await import('../../scanner/reporters/progress-bar.js');
        request.progress = createProgressBar(io.stderr);
      }
      const outcome = await runScan(request);
      for (const warning of outcome.warnings) writeLine(io.stderr, `keywarden: ${warning}`);
      // For benchmarks and tests: whether this scan paid for worker threads.
      if (io.env.KEYWARDEN_SCAN_STATS === '1') writeLine(io.stderr, `keywarden: stats ${JSON.stringify({ workerThreads: outcome.workerThreads })}`);
      await emitScanOutcome(flags, outcome, io);
      if (outcome.baselineWritten !== undefined) {
        writeLine(io.stderr, `keywarden: wrote ${outcome.baselineWritten} finding(s) to the baseline ${flags.writeBaseline ?? ''}`);
        setStatus(EXIT_OK);
        return;
      }
      setStatus(outcome.findings.length > 0 ? EXIT_FINDINGS : EXIT_OK);
    });
}
