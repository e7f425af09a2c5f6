/**
 * `npm run bench:scan`: keywarden vs secretlint vs ripgrep on a generated ~100 MB / 5,000-file corpus and on a
 * deep ~30 MB tree (1,500 files in 2,600 directories: lockfiles, minified bundles, .env files), plus the
 * single-line ratio (1 MB vs 100 KB on one line), peak RSS with a 50 MB single-line file, --git and --staged,
 * and detection quality on both trees. Writes bench/results/scan.{json,md} and the marked table in README.md.
 * Run after `npm run build` (the script does it).
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { spawnSync } from 'node:child_process';
import { buildDeepTree, buildHistory, buildSingleLines, buildStagedRepo, buildTree, type TreeInfo } from './fixtures.js';
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

const KW_ARGS = [BIN, 'scan', '.', '--format', 'json', '--no-progress'];

/** keywarden, secretlint and ripgrep on one tree: wall (median and best), MB/s, peak RSS, and keywarden's quality. */
async function compareTools(label: string, tree: TreeInfo, rcPath: string) {
  console.log(`${label}: keywarden scan (paths)…`);
  const kw = await median(RUNS, () => measure(process.execPath, KW_ARGS, tree.dir));
  console.log(`${label}: secretlint…`);
  // secretlint needs minutes on these trees, so it runs once.
  const sl = await median(1, () => measure(process.execPath, [SECRETLINT, '**/*', '--secretlintrc', rcPath, '--format', 'json'], tree.dir));
  console.log(`${label}: ripgrep…`);
  const rgRun = await median(RUNS, () => measure('rg', ['--no-ignore', '--hidden', '-c', '-e', RG_OPENAI, '.'], tree.dir));
  return {
    keywarden: toolRun(tree.bytes, kw),
    secretlint: toolRun(tree.bytes, sl),
    ripgrep: toolRun(tree.bytes, rgRun),
    ratioToRipgrep: kw.wallMs / rgRun.wallMs,
    timesFasterThanSecretlint: sl.wallMs / kw.wallMs,
    quality: quality(kw.stdout, tree.planted),
  };
}

interface Engine {
  scanBytes: (bytes: Buffer, options?: object) => unknown[];
}

/** CPU time of the built engine on one buffer: the median of `runs`, after a warm-up. */
function engineCpuMs(engine: Engine, bytes: Buffer, runs: number): number {
  engine.scanBytes(bytes);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const before = process.cpuUsage();
    engine.scanBytes(bytes);
    const used = process.cpuUsage(before);
    times.push((used.user + used.system) / 1000);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? 0;
}

async function main(): Promise<void> {
  const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('build failed');
  console.log('generating the trees…');
  const tree = await buildTree(WORK);
  const deep = await buildDeepTree(WORK);
  const [line100k, line1m, line50m] = await buildSingleLines(WORK, [100 * 1024, 1024 * 1024, 50 * 1024 * 1024]);
  if (line100k === undefined || line1m === undefined || line50m === undefined) throw new Error('single-line fixtures missing');
  const rg = spawnSync('rg', ['--version'], { encoding: 'utf8' });
  if (rg.status !== 0) throw new Error('ripgrep (rg) is not installed: apt-get install -y ripgrep');
  const rcPath = path.join(WORK, 'secretlintrc.json');
  await writeFile(rcPath, JSON.stringify({ rules: [{ id: '@secretlint/secretlint-rule-preset-recommend' }] }));

  const corpus = await compareTools('corpus', tree, rcPath);
  const deepTree = await compareTools('deep tree', deep, rcPath);

  console.log('single-line files…');
  const engine = (await import(pathToFileURL(path.join(ROOT, 'dist', 'scanner', 'engine', 'engine.js')).href)) as Engine;
  const { readFile } = await import('node:fs/promises');
  const cpu100k = engineCpuMs(engine, await readFile(line100k.file), 21);
  const cpu1m = engineCpuMs(engine, await readFile(line1m.file), 7);
  const wall100k = await median(RUNS, () => measure(process.execPath, KW_ARGS, line100k.dir));
  const wall1m = await median(RUNS, () => measure(process.execPath, KW_ARGS, line1m.dir));
  console.log('50 MB single-line file…');
  const big = await median(3, () => measure(process.execPath, KW_ARGS, line50m.dir));
  const bigFound = (JSON.parse(big.stdout) as Report).findings.some((f) => f.fingerprint === sha(line50m.planted.secret));

  console.log('building the 1,000-commit history…');
  const history = await buildHistory(WORK, tree);
  console.log('keywarden scan --git…');
  const git = await median(3, () => measure(process.execPath, [BIN, 'scan', '--git', '--format', 'json', '--no-progress'], history.dir));

  console.log('building the 10,000-file repository…');
  const stagedDir = await buildStagedRepo(WORK);
  const planted = `export const GROQ_API_KEY = '${tree.planted.find((p) => p.ruleId === 'groq-api-key')?.secret ?? ''}';\n`;
  await writeFile(path.join(stagedDir, 'src', 'm0', 'file-1.ts'), planted);
  spawnSync('git', ['add', 'src/m0/file-1.ts'], { cwd: stagedDir });
  // A pre-commit hook is a cold start every time: the median of 11 runs, each a new process.
  const staged = await median(11, () => measure(process.execPath, [BIN, 'scan', '--staged', '--format', 'json'], stagedDir));
  const stagedFound = (JSON.parse(staged.stdout) as Report).findings.length;

  const results: BenchResults = {
    date: new Date().toISOString(),
    machine: { cpus: availableParallelism(), model: cpus()[0]?.model ?? 'unknown', node: process.version, loadAverage: loadavg()[0] ?? 0 },
    tree: { files: tree.files, megabytes: tree.bytes / (1024 * 1024) },
    paths: corpus,
    quality: corpus.quality,
    deep: { files: deep.files, directories: deep.directories, megabytes: deep.bytes / (1024 * 1024), ...deepTree },
    singleLine: {
      cpuMs100k: cpu100k,
      cpuMs1m: cpu1m,
      ratio: cpu1m / cpu100k,
      wallMs100k: wall100k.wallMs,
      wallMs1m: wall1m.wallMs,
    },
    big: { megabytes: line50m.bytes / (1024 * 1024), wallMs: big.wallMs, peakRssMb: big.peakRssMb, found: bigFound },
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
