/**
 * `npm run bench:scan`: keywarden vs secretlint vs ripgrep on a generated ~100 MB / 5,000-file tree, plus the
 * --git and --staged targets and detection quality on the planted corpus. Writes bench/results/scan.{json,md}
 * and the marked table in README.md. Run after `npm run build` (the script does it).
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { buildHistory, buildStagedRepo, buildTree } from './fixtures.js';
import { measure, median, type Measurement } from './measure.js';
import { renderMarkdown, updateReadme, type BenchResults } from './report.js';
import type { PlantedKey } from '../../src/scanner/corpus/generator.js';

const ROOT = path.resolve(fileURLToPath(import.meta.url), '../../..');
const WORK = path.join(ROOT, 'bench', '.work');
const BIN = path.join(ROOT, 'dist', 'cli', 'bin.js');
const SECRETLINT = path.join(ROOT, 'node_modules', 'secretlint', 'bin', 'secretlint.js');
/** The OpenAI pattern given to ripgrep: the same key shapes keywarden's OpenAI rules accept. */
const RG_OPENAI = String.raw`sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{32,}|sk-[A-Za-z0-9]{16,}T3BlbkFJ[A-Za-z0-9]{16,}`;
const RUNS = 5;

interface Report {
  findings: Array<{ path: string; fingerprint: string }>;
}

const sha = (text: string): string => createHash('sha256').update(text).digest('hex');

function quality(stdout: string, planted: readonly PlantedKey[]): { recall: number; precision: number; planted: number; found: number; falsePositives: number } {
  const truth = new Set(planted.map((p) => `${p.path}\u0000${sha(p.secret)}`));
  const got = new Set((JSON.parse(stdout) as Report).findings.map((f) => `${f.path}\u0000${f.fingerprint}`));
  let hits = 0;
  for (const key of got) if (truth.has(key)) hits++;
  return { recall: hits / truth.size, precision: got.size === 0 ? 1 : hits / got.size, planted: truth.size, found: got.size, falsePositives: got.size - hits };
}

const mbps = (bytes: number, ms: number): number => bytes / (1024 * 1024) / (ms / 1000);
const toolRun = (bytes: number, m: Measurement & { bestWallMs: number }) => ({
  wallMs: m.wallMs,
  bestWallMs: m.bestWallMs,
  mbPerSec: mbps(bytes, m.wallMs),
  bestMbPerSec: mbps(bytes, m.bestWallMs),
  peakRssMb: m.peakRssMb,
});

async function main(): Promise<void> {
  const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('build failed');
  console.log('generating the tree…');
  const tree = await buildTree(WORK);
  const rg = spawnSync('rg', ['--version'], { encoding: 'utf8' });
  if (rg.status !== 0) throw new Error('ripgrep (rg) is not installed: apt-get install -y ripgrep');

  console.log('keywarden scan (paths)…');
  const kw = await median(RUNS, () => measure(process.execPath, [BIN, 'scan', '.', '--format', 'json', '--no-progress'], tree.dir));
  console.log('secretlint…');
  const rcPath = path.join(WORK, 'secretlintrc.json');
  await writeFile(rcPath, JSON.stringify({ rules: [{ id: '@secretlint/secretlint-rule-preset-recommend' }] }));
  // secretlint needs minutes on this tree, so it runs once.
  const sl = await median(1, () => measure(process.execPath, [SECRETLINT, '**/*', '--secretlintrc', rcPath, '--format', 'json'], tree.dir));
  console.log('ripgrep…');
  const rgRun = await median(RUNS, () => measure('rg', ['--no-ignore', '--hidden', '-c', '-e', RG_OPENAI, '.'], tree.dir));

  console.log('building the 1,000-commit history…');
  const history = await buildHistory(WORK, tree);
  console.log('keywarden scan --git…');
  const git = await median(3, () => measure(process.execPath, [BIN, 'scan', '--git', '--format', 'json', '--no-progress'], history.dir));

  console.log('building the 10,000-file repository…');
  const stagedDir = await buildStagedRepo(WORK);
  const planted = `export const GROQ_API_KEY = '${tree.planted.find((p) => p.ruleId === 'groq-api-key')?.secret ?? ''}';\n`;
  await writeFile(path.join(stagedDir, 'src', 'm0', 'file-1.ts'), planted);
  spawnSync('git', ['add', 'src/m0/file-1.ts'], { cwd: stagedDir });
  const staged = await median(5, () => measure(process.execPath, [BIN, 'scan', '--staged', '--format', 'json'], stagedDir));
  const stagedFound = (JSON.parse(staged.stdout) as Report).findings.length;

  const results: BenchResults = {
    date: new Date().toISOString(),
    machine: { cpus: availableParallelism(), model: cpus()[0]?.model ?? 'unknown', node: process.version, loadAverage: loadavg()[0] ?? 0 },
    tree: { files: tree.files, megabytes: tree.bytes / (1024 * 1024) },
    paths: {
      keywarden: toolRun(tree.bytes, kw),
      secretlint: toolRun(tree.bytes, sl),
      ripgrep: toolRun(tree.bytes, rgRun),
      ratioToRipgrep: kw.wallMs / rgRun.wallMs,
    },
    quality: quality(kw.stdout, tree.planted),
    git: { commits: history.commits, megabytes: history.blobBytes / (1024 * 1024), ...toolRun(history.blobBytes, git), quality: quality(git.stdout, history.planted) },
    staged: { files: 10_000, wallMs: staged.wallMs, bestWallMs: staged.bestWallMs, found: stagedFound },
  };
  await writeFile(path.join(ROOT, 'bench', 'results', 'scan.json'), `${JSON.stringify(results, null, 2)}\n`);
  const markdown = renderMarkdown(results);
  await writeFile(path.join(ROOT, 'bench', 'results', 'scan.md'), markdown);
  await updateReadme(path.join(ROOT, 'README.md'), markdown);
  console.log(markdown);
}

await main();
