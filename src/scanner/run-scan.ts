import path from 'node:path';
import { KeywardenError } from '../errors/index.js';
import { loadScanConfig, readKeywardenIgnore } from './config/load.js';
import { scanText } from './engine/engine.js';
import { compareFindings } from './finding.js';
import { gitTopLevel } from './sources/git.js';
import type { ScanProgress } from './sources/progress.js';
import { SkipTally, type SkipSummary } from './sources/skipped.js';
import { scanRange, scanStaged } from './sources/diff-scan.js';
import type { SourceOptions } from './sources/sources.js';
import type { Finding } from './types.js';
import type { VerifyOverrides } from './verify/endpoints.js';
import type { OutboundLookup } from '../policy/outbound-connect.js';

export type ScanSource =
  | { kind: 'paths'; paths: string[] }
  | { kind: 'git' }
  | { kind: 'staged' }
  | { kind: 'range'; range: string }
  | { kind: 'stdin'; text: string; path: string };

export interface ScanRequest {
  source: ScanSource;
  cwd: string;
  env: NodeJS.ProcessEnv;
  gitignore: boolean;
  configFile?: string;
  baseline?: string;
  writeBaseline?: string;
  verify: boolean;
  /** `--verify-endpoint PROVIDER=URL` overrides. */
  verifyEndpoints?: VerifyOverrides;
  /** Resolver for verification connections (tests). */
  verifyLookup?: OutboundLookup;
  progress?: ScanProgress;
  /** `--max-file-size`: overrides scan.maxFileSize. No cap when neither is set. */
  maxFileSize?: number;
}

export interface ScanOutcome {
  /** Findings to report: sorted, and without those the baseline already knows. */
  findings: Finding[];
  /** How many the baseline hid. */
  suppressed: number;
  /** Set when --write-baseline wrote this many entries. */
  baselineWritten?: number;
  /** Things the user should know that are not findings (printed to stderr by the CLI). */
  warnings: string[];
  /** What a path or history scan left out and why (gitignored, binary, too large, bomb, ...). Absent for diffs. */
  skipped?: SkipSummary;
  /** Worker threads this scan started (0 when the main thread did it all). */
  workerThreads: number;
}

/** A ref or range must not look like an option, or git would read it as one. */
function checkRevision(value: string): string {
  if (value === '' || value.startsWith('-')) throw new KeywardenError('KW_USAGE', { message: `Invalid revision range: ${value}` });
  return value;
}

/** Runs one scan end to end: config → source → baseline → verification. Reporting is left to the caller. */
export async function runScan(request: ScanRequest): Promise<ScanOutcome> {
  const usesGit = request.source.kind === 'git' || request.source.kind === 'staged' || request.source.kind === 'range';
  // Reading the config and asking git for the top level overlap: start-up time is what a pre-commit hook feels.
  const [config, root] = await Promise.all([
    loadScanConfig(request.cwd, request.configFile),
    usesGit ? gitTopLevel(request.cwd) : Promise.resolve(request.cwd),
  ]);
  const maxFileSize = request.maxFileSize ?? config.maxFileSize;
  const options: SourceOptions = {
    disabledRules: new Set(config.disableRules),
    decode: config.decode,
    maxFileSize,
    workers: config.workers,
    ignorePatterns: [...(await readKeywardenIgnore(root)), ...config.ignorePaths],
  };
  if (request.progress !== undefined) options.progress = request.progress;

  let findings: Finding[];
  let workerThreads = 0;
  const source = request.source;
  switch (source.kind) {
    case 'paths':
    case 'git': {
      // The walk, the worker pool and the git object readers load only for the sources that use them, so
      // `--staged` in a pre-commit hook does not pay for them.
      const [sources, pool] = await Promise.all([import('./sources/sources.js'), import('./sources/worker-pool.js')]);
      const before = pool.scanThreadStats.started;
      if (source.kind === 'paths') {
        options.skips = new SkipTally(maxFileSize);
        findings = await sources.scanPaths(source.paths, root, request.gitignore, options);
      } else {
        options.skips = new SkipTally(maxFileSize);
        findings = await sources.scanGitHistory(root, ['--all'], options);
      }
      workerThreads = pool.scanThreadStats.started - before;
      break;
    }
    case 'staged':
      findings = await scanStaged(root, options);
      break;
    case 'range':
      findings = await scanRange(root, checkRevision(source.range), options);
      break;
    case 'stdin':
      findings = scanText(source.text, { path: source.path, disabledRules: options.disabledRules, decode: options.decode });
      break;
  }
  findings.sort(compareFindings);

  const outcome: ScanOutcome = { findings, suppressed: 0, warnings: [], workerThreads };
  if (options.skips !== undefined) outcome.skipped = options.skips.result();
  // The baseline module (and zod, which validates baselines) loads only when a baseline is used.
  if (request.writeBaseline !== undefined) {
    const { writeBaseline } = await import('./baseline/baseline.js');
    await writeBaseline(path.resolve(request.cwd, request.writeBaseline), findings);
    outcome.baselineWritten = new Set(findings.map((f) => f.fingerprint)).size;
  }
  const baselineFile = request.baseline ?? config.baseline;
  if (baselineFile !== undefined && request.writeBaseline === undefined) {
    const { newFindings, readBaseline } = await import('./baseline/baseline.js');
    outcome.findings = newFindings(findings, await readBaseline(path.resolve(request.cwd, baselineFile)));
    outcome.suppressed = findings.length - outcome.findings.length;
  }
  if (request.verify && Object.keys(config.verify.baseUrls).length > 0) {
    // The project config sits in the scanned tree: it may be the attacker's. It never chooses where secrets go.
    outcome.warnings.push(
      'ignoring scan.verify.baseUrls from the project config: verification endpoints are taken only from --verify-endpoint, KEYWARDEN_VERIFY_URL_* or the user config (~/.config/keywarden/config.yaml)',
    );
  }
  if (request.verify && outcome.findings.length > 0) {
    const { loadUserVerifyEndpoints } = await import('./config/user-config.js');
    const user = await loadUserVerifyEndpoints(request.env);
    // Verification (and the HTTP client under it) loads only when asked for.
    const { verifyFindings } = await import('./verify/verify.js');
    await verifyFindings(outcome.findings, {
      timeoutMs: config.verify.timeoutMs,
      concurrency: config.verify.concurrency,
      commandLine: request.verifyEndpoints ?? {},
      userConfig: user?.baseUrls ?? {},
      env: request.env,
      ...(request.verifyLookup ? { lookup: request.verifyLookup } : {}),
    });
  }
  return outcome;
}
