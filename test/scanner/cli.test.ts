import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FakeKeys } from '../../src/scanner/rules/fake-keys.js';
import { cli, tempDir, writeFiles } from './helpers.js';
import { compileSarifSchema } from './sarif-schema.js';

const f = new FakeKeys(2024);
const openai = f.openaiProject();
const anthropic = f.anthropic();
const gemini = f.google();
const hf = f.huggingface();
const virtual = f.virtualKey();

interface JsonReport {
  findings: Array<{ ruleId: string; path: string; line: number; secret: string; masked: boolean }>;
}

async function project(): Promise<string> {
  const dir = await tempDir('cli');
  await writeFiles(dir, {
    '.env': `OPENAI_API_KEY=${openai}\n`,
    'src/app.py': `client = Anthropic(api_key="${anthropic}")\n`,
    'notebooks/demo.ipynb': JSON.stringify({ cells: [{ cell_type: 'code', source: [`import os\n`, `os.environ["GEMINI_API_KEY"] = "${gemini}"\n`] }] }),
    'Dockerfile': `FROM node:20\nENV HF_TOKEN=${hf}\n`,
    'ignored/by-git.txt': `KEYWARDEN=${virtual}\n`,
    '.gitignore': 'ignored/\n',
    'image.bin': Buffer.concat([Buffer.from([0, 1, 2, 0]), Buffer.from(openai)]),
    'docs/readme.md': `Set OPENAI_API_KEY=sk-proj-your-key-here and HF_TOKEN=hf_${'x'.repeat(34)}\n`,
  });
  return dir;
}

describe('keywarden scan (paths)', () => {
  it('finds keys in text formats, skips binaries and gitignored files, masks secrets and exits 1', async () => {
    const dir = await project();
    const run = await cli(['scan', '--format', 'json'], { cwd: dir });
    expect(run.status).toBe(1);
    const report = JSON.parse(run.stdout) as JsonReport;
    expect(report.findings.map((x) => [x.path, x.ruleId, x.line])).toEqual([
      ['.env', 'openai-project-key', 1],
      ['Dockerfile', 'huggingface-token', 2],
      ['notebooks/demo.ipynb', 'google-api-key', 1],
      ['src/app.py', 'anthropic-api-key', 1],
    ]);
    for (const secret of [openai, anthropic, gemini, hf]) expect(run.stdout).not.toContain(secret);
    expect(report.findings.every((x) => x.masked)).toBe(true);
  });

  it('reveals secrets only with --show-secrets, and scans gitignored files with --no-gitignore', async () => {
    const dir = await project();
    const run = await cli(['scan', '--format', 'json', '--show-secrets', '--no-gitignore'], { cwd: dir });
    const report = JSON.parse(run.stdout) as JsonReport;
    expect(report.findings.find((x) => x.path === 'ignored/by-git.txt')?.secret).toBe(virtual);
    expect(run.stdout).toContain(openai);
  });

  it('exits 0 on a clean tree and 2 on a usage error', async () => {
    const dir = await tempDir('clean');
    await writeFiles(dir, { 'a.txt': 'nothing to see\n' });
    const clean = await cli(['scan'], { cwd: dir });
    expect(clean.status).toBe(0);
    expect(clean.stdout).toContain('No AI keys found.');
    expect((await cli(['scan', '--git', '--staged'], { cwd: dir })).status).toBe(2);
    expect((await cli(['scan', 'does-not-exist'], { cwd: dir })).status).toBe(2);
  });

  it('honours .keywardenignore and inline keywarden:allow', async () => {
    const dir = await project();
    await writeFiles(dir, { '.keywardenignore': 'src/\n*.ipynb\n', '.env': `OPENAI_API_KEY=${openai} # keywarden:allow\n` });
    const report = JSON.parse((await cli(['scan', '--format', 'json'], { cwd: dir })).stdout) as JsonReport;
    expect(report.findings.map((x) => x.path)).toEqual(['Dockerfile']);
  });

  it('writes a baseline keyed on the secret hash and then reports only new findings', async () => {
    const dir = await project();
    const written = await cli(['scan', '--write-baseline', 'kw-baseline.json', '--format', 'json'], { cwd: dir });
    expect(written.status).toBe(0);
    const baselineText = await readFile(path.join(dir, 'kw-baseline.json'), 'utf8');
    expect(baselineText).not.toContain(openai);
    // Move the known key to another line and file, and add a new one.
    const newKey = f.groq();
    await writeFiles(dir, { '.env': `\n\n# moved\nOTHER=1\n`, 'config/moved.env': `OPENAI_API_KEY=${openai}\nGROQ_API_KEY=${newKey}\n` });
    const run = await cli(['scan', '--baseline', 'kw-baseline.json', '--format', 'json'], { cwd: dir });
    expect(run.status).toBe(1);
    expect((JSON.parse(run.stdout) as JsonReport).findings.map((x) => x.ruleId)).toEqual(['groq-api-key']);
    const text = await cli(['scan', '--baseline', 'kw-baseline.json'], { cwd: dir });
    expect(text.stdout).toContain('4 known finding(s) hidden by the baseline');
  });

  it('writes valid SARIF 2.1.0 to --output', async () => {
    const dir = await project();
    const run = await cli(['scan', '--format', 'sarif', '--output', 'out.sarif'], { cwd: dir });
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    const log = JSON.parse(await readFile(path.join(dir, 'out.sarif'), 'utf8')) as unknown;
    const validate = compileSarifSchema();
    expect(validate(log), JSON.stringify(validate.errors)).toBe(true);
    // The validator is not vacuous: a wrong version or a region without a start fails it.
    expect(validate({ ...(log as object), version: '2.0.0' })).toBe(false);
    const broken = JSON.parse(JSON.stringify(log).replace(/"startLine":\d+,/g, '')) as unknown;
    expect(validate(broken)).toBe(false);
    expect(JSON.stringify(log)).not.toContain(openai);
  });

  it('reports every config error at once and exits 2', async () => {
    const dir = await project();
    await writeFiles(dir, { 'keywarden.config.json': JSON.stringify({ scan: { workers: -1, disableRules: ['bogus'], extra: 1 } }) });
    const run = await cli(['scan'], { cwd: dir });
    expect(run.status).toBe(2);
    for (const fragment of ['scan.workers', 'scan.disableRules.0', 'extra']) expect(run.stderr).toContain(fragment);
  });

  it('applies disableRules from keywarden.config.yaml', async () => {
    const dir = await project();
    await writeFiles(dir, { 'keywarden.config.yaml': 'scan:\n  disableRules: [openai-project-key, huggingface-token]\n' });
    const report = JSON.parse((await cli(['scan', '--format', 'json'], { cwd: dir })).stdout) as JsonReport;
    expect(report.findings.map((x) => x.ruleId).sort()).toEqual(['anthropic-api-key', 'google-api-key']);
  });

  it('scans stdin', async () => {
    const dir = await tempDir('stdin');
    const run = await cli(['scan', '--stdin', '--stdin-path', 'pasted.txt', '--format', 'json'], { cwd: dir, stdin: `x ${anthropic} y` });
    expect(run.status).toBe(1);
    expect((JSON.parse(run.stdout) as JsonReport).findings.map((x) => [x.path, x.ruleId])).toEqual([['pasted.txt', 'anthropic-api-key']]);
  });

  it('prints nothing with --quiet when clean, and never a progress bar off a TTY', async () => {
    const dir = await tempDir('quiet');
    await writeFiles(dir, { 'a.txt': 'clean\n' });
    const run = await cli(['scan', '--quiet'], { cwd: dir });
    expect(run).toEqual({ status: 0, stdout: '', stderr: '' });
  });
});
