import { readFile, writeFile } from 'node:fs/promises';

interface ToolRun {
  wallMs: number;
  bestWallMs: number;
  mbPerSec: number;
  bestMbPerSec: number;
  peakRssMb: number;
}

interface Quality {
  recall: number;
  precision: number;
  planted: number;
  found: number;
  falsePositives: number;
}

interface ToolComparison {
  keywarden: ToolRun;
  secretlint: ToolRun;
  ripgrep: ToolRun;
  ratioToRipgrep: number;
  /** secretlint's wall time over keywarden's. */
  timesFasterThanSecretlint: number;
  quality: Quality;
}

export interface BenchResults {
  date: string;
  machine: { cpus: number; model: string; node: string; loadAverage: number };
  tree: { files: number; megabytes: number };
  paths: ToolComparison;
  quality: Quality;
  deep: ToolComparison & { files: number; directories: number; megabytes: number };
  /** Engine CPU on one line of 100 KB and of 1 MB (in-process, median), and the CLI's wall time on each. */
  singleLine: { cpuMs100k: number; cpuMs1m: number; ratio: number; wallMs100k: number; wallMs1m: number };
  /** A 50 MB single-line file: found, and in how much memory. */
  big: { megabytes: number; wallMs: number; peakRssMb: number; found: boolean };
  git: ToolRun & { commits: number; megabytes: number; quality: { recall: number; precision: number } };
  staged: { files: number; wallMs: number; bestWallMs: number; found: number };
}

const START = '<!-- bench:scan:start -->';
const END = '<!-- bench:scan:end -->';

const verdict = (ok: boolean): string => (ok ? 'met' : '**missed**');
const fixed = (n: number, digits = 1): string => n.toFixed(digits);
const pct = (n: number): string => `${(n * 100).toFixed(2)}%`;

/** The results as a Markdown table, each target next to the measured figure and whether it was met. */
export function renderMarkdown(r: BenchResults): string {
  const p = r.paths;
  const d = r.deep;
  const peakRss = Math.max(p.keywarden.peakRssMb, d.keywarden.peakRssMb, r.big.peakRssMb);
  const rows = [
    [`Path scan, ${fixed(r.tree.megabytes, 0)} MB corpus (wall, ${r.machine.cpus} cores)`, '≥ 200 MB/s', `${fixed(p.keywarden.mbPerSec)} MB/s (best run ${fixed(p.keywarden.bestMbPerSec)})`, verdict(p.keywarden.mbPerSec >= 200)],
    [`Path scan, deep tree (${d.files.toLocaleString('en')} files in ${d.directories.toLocaleString('en')} directories, ${fixed(d.megabytes, 0)} MB)`, '≥ 100 MB/s', `${fixed(d.keywarden.mbPerSec)} MB/s (best run ${fixed(d.keywarden.bestMbPerSec)})`, verdict(d.keywarden.mbPerSec >= 100)],
    ['Speed vs secretlint, corpus', '≥ 10×', `${fixed(p.timesFasterThanSecretlint)}×`, verdict(p.timesFasterThanSecretlint >= 10)],
    ['Speed vs secretlint, deep tree', '≥ 6×', `${fixed(d.timesFasterThanSecretlint)}×`, verdict(d.timesFasterThanSecretlint >= 6)],
    ['Time vs ripgrep (OpenAI pattern), corpus', '≤ 2× rg', `${fixed(p.ratioToRipgrep, 2)}× (${fixed(p.keywarden.wallMs, 0)} ms vs ${fixed(p.ripgrep.wallMs, 0)} ms)`, verdict(p.ratioToRipgrep <= 2)],
    ['One line of 1 MB vs one of 100 KB (engine CPU)', '≤ 15×', `${fixed(r.singleLine.ratio)}× (${fixed(r.singleLine.cpuMs1m)} ms vs ${fixed(r.singleLine.cpuMs100k, 2)} ms; CLI wall ${fixed(r.singleLine.wallMs1m, 0)} vs ${fixed(r.singleLine.wallMs100k, 0)} ms)`, verdict(r.singleLine.ratio <= 15)],
    [`Peak RSS (corpus, deep tree, ${fixed(r.big.megabytes, 0)} MB single-line file)`, '≤ 300 MB', `${fixed(peakRss)} MB (${fixed(p.keywarden.peakRssMb)} / ${fixed(d.keywarden.peakRssMb)} / ${fixed(r.big.peakRssMb)}; the 50 MB line ${r.big.found ? 'found its key' : '**missed its key**'} in ${fixed(r.big.wallMs / 1000, 2)} s)`, verdict(peakRss <= 300 && r.big.found)],
    [`--git, ${r.git.commits} commits, ${fixed(r.git.megabytes)} MB of blobs`, '≥ 50 MB/s', `${fixed(r.git.mbPerSec)} MB/s (best run ${fixed(r.git.bestMbPerSec)}; peak RSS ${fixed(r.git.peakRssMb)} MB incl. git)`, verdict(r.git.mbPerSec >= 50)],
    [`--staged, ${r.staged.files.toLocaleString('en')}-file repository`, '≤ 0.2 s', `${fixed(r.staged.wallMs / 1000, 3)} s (best ${fixed(r.staged.bestWallMs / 1000, 3)} s; found ${r.staged.found})`, verdict(r.staged.wallMs <= 200 && r.staged.found === 1)],
    ['Recall / precision, corpus', '100% / ≥ 99.5%', `${pct(r.quality.recall)} / ${pct(r.quality.precision)} (${r.quality.planted} keys planted, ${r.quality.falsePositives} false positives)`, verdict(r.quality.recall === 1 && r.quality.precision >= 0.995)],
    ['Recall / precision, deep tree', '100% / ≥ 99.5%', `${pct(d.quality.recall)} / ${pct(d.quality.precision)} (${d.quality.planted} keys planted)`, verdict(d.quality.recall === 1 && d.quality.precision >= 0.995)],
    ['Recall / precision in --git', '100% / ≥ 99.5%', `${pct(r.git.quality.recall)} / ${pct(r.git.quality.precision)}`, verdict(r.git.quality.recall === 1 && r.git.quality.precision >= 0.995)],
  ];
  const tools = (label: string, c: ToolComparison) =>
    [
      [`keywarden (all rules), ${label}`, c.keywarden],
      [`secretlint (preset-recommend), ${label}`, c.secretlint],
      [`ripgrep (OpenAI pattern only), ${label}`, c.ripgrep],
    ] as const;
  return [
    `Corpus: ${r.tree.files.toLocaleString('en')} files, ${fixed(r.tree.megabytes)} MB, generated by the seeded corpus generator. ` +
      `Deep tree: ${d.files.toLocaleString('en')} files in ${d.directories.toLocaleString('en')} directories, ${fixed(d.megabytes)} MB ` +
      `(source with long lines, JSON, lockfiles, minified bundles, .env and config files with keys; seeded). ` +
      `Machine: ${r.machine.cpus} cores (${r.machine.model}), Node ${r.machine.node}, shared with other jobs (load average ` +
      `${fixed(r.machine.loadAverage, 2)} at the end of the run). Median of 5 runs (3 for --git and the 50 MB file, 11 for ` +
      `--staged, 1 for secretlint) with a warm page cache; ${r.date.slice(0, 10)}.`,
    '',
    '| Target | Goal | Measured | |',
    '| --- | --- | --- | --- |',
    ...rows.map((row) => `| ${row.join(' | ')} |`),
    '',
    '| Tool on the same tree | Wall (median) | MB/s | Best run | Peak RSS |',
    '| --- | --- | --- | --- | --- |',
    ...[...tools('corpus', p), ...tools('deep tree', d)].map(
      ([name, t]) =>
        `| ${name} | ${fixed(t.wallMs / 1000, 2)} s | ${fixed(t.mbPerSec)} | ${fixed(t.bestWallMs / 1000, 2)} s | ${fixed(t.peakRssMb)} MB |`,
    ),
    '',
  ].join('\n');
}

/** Replaces the marked region of README.md with the table. */
export async function updateReadme(file: string, markdown: string): Promise<void> {
  const readme = await readFile(file, 'utf8');
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start === -1 || end === -1) throw new Error(`README.md has no ${START} … ${END} region`);
  await writeFile(file, `${readme.slice(0, start + START.length)}\n${markdown}${readme.slice(end)}`);
}
