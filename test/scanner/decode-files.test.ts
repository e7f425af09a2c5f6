import { execFile } from 'node:child_process';
import { createInflateRaw } from 'node:zlib';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzipSync, strToU8, zipSync } from 'fflate';
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { FakeKeys } from '../../src/scanner/rules/fake-keys.js';
import { markEncrypted, zeroBombZip } from './archive-fixtures.js';
import { BIN, cli, TestRepo, tempDir, writeFiles, type CliRun } from './helpers.js';
import { compileSarifSchema } from './sarif-schema.js';

const exec = promisify(execFile);
const f = new FakeKeys(1313);
const key = f.openaiProject();
const other = f.anthropic();
/** The key on line 3, column 16. */
const text = `# settings\n\nOPENAI_API_KEY=${key}\n`;

interface Report {
  findings: Array<{ path: string; line: number; column: number; ruleId: string; commit?: { sha: string } }>;
  summary: { total: number; skipped?: { total: number; binary: number; bomb: number; encrypted: number; files: Array<{ path: string; reason: string; detail?: string }> } };
}
const parse = (run: CliRun): Report => JSON.parse(run.stdout) as Report;
const where = (report: Report): Array<[string, number, number]> => report.findings.map((x) => [x.path, x.line, x.column]);

function utf16le(s: string, bom: boolean): Buffer {
  const body = Buffer.from(s, 'utf16le');
  return bom ? Buffer.concat([Buffer.from([0xff, 0xfe]), body]) : body;
}
function utf16be(s: string): Buffer {
  return Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(s, 'utf16le').swap16()]);
}
function utf32le(s: string): Buffer {
  const out = Buffer.alloc(4 + s.length * 4);
  out.writeUInt32LE(0xfeff, 0);
  for (let i = 0; i < s.length; i++) out.writeUInt32LE(s.charCodeAt(i), 4 + i * 4);
  return out;
}

async function tarOf(files: Record<string, string>): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
  const done = new Promise<void>((resolve) => pack.on('end', () => resolve()));
  for (const [name, content] of Object.entries(files)) pack.entry({ name }, content);
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** Runs the built CLI under /usr/bin/time: its status, output, peak RSS (MiB) and wall time (ms). */
async function measured(args: string[], cwd: string): Promise<CliRun & { rssMiB: number; ms: number }> {
  const started = Date.now();
  let stdout = '';
  let stderr = '';
  let status = 0;
  try {
    ({ stdout, stderr } = await exec('/usr/bin/time', ['-v', process.execPath, BIN, ...args], { cwd, maxBuffer: 64 * 1024 * 1024, env: { PATH: process.env.PATH } }));
  } catch (err) {
    const failed = err as { code: number; stdout: string; stderr: string };
    ({ stdout, stderr } = failed);
    status = failed.code;
  }
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
  if (rss === null) throw new Error(`no RSS in: ${stderr.slice(-500)}`);
  return { status, stdout, stderr, rssMiB: Number(rss[1]) / 1024, ms: Date.now() - started };
}

describe('scan decodes text encodings', () => {
  it('UTF-16LE with and without BOM (PowerShell), UTF-16BE, UTF-32LE and UTF-8 with BOM: each key found at its line and column', async () => {
    const dir = await tempDir('enc');
    await writeFiles(dir, {
      'bom16le.ps1': utf16le(text, true),
      'nobom16le.txt': utf16le(text, false),
      'be16.txt': utf16be(text),
      'le32.txt': utf32le(text),
      'bom8.env': Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]),
    });
    const run = await cli(['scan', '--json'], { cwd: dir });
    expect(run.status).toBe(1);
    expect(where(parse(run))).toEqual([
      ['be16.txt', 3, 16],
      ['bom16le.ps1', 3, 16],
      ['bom8.env', 3, 16],
      ['le32.txt', 3, 16],
      ['nobom16le.txt', 3, 16],
    ]);
    expect(parse(run).summary.skipped?.total).toBe(0);
  });

  it('counts and names a binary file, and the clean summary says what was skipped', async () => {
    const dir = await tempDir('binary');
    await writeFiles(dir, { 'a.txt': 'hello\n', 'model.weights': Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 37) % 256)) });
    const run = await cli(['scan'], { cwd: dir });
    expect(run.status).toBe(0);
    expect(run.stdout.split('\n')[0]).toBe('No AI keys found in 1 file (1 skipped: 1 binary).');
    expect(run.stdout).toContain('  skipped model.weights: binary\n');
    const json = parse(await cli(['scan', '--json'], { cwd: dir }));
    expect(json.summary.skipped?.files).toEqual([{ path: 'model.weights', reason: 'binary' }]);
  });
});

describe('scan opens archives', () => {
  it('gzip, .tar.gz with a .env, .jar, and a zip nested in a zip (depth 2): findings named with ! and member lines', async () => {
    const dir = await tempDir('archives');
    const inner = zipSync({ 'conf/prod.env': strToU8(`A=1\n${text}`) });
    await writeFiles(dir, {
      'app.log.gz': Buffer.from(gzipSync(strToU8(`start\n${text}`))),
      'deploy.tar.gz': Buffer.from(gzipSync(await tarOf({ 'app/readme.md': 'hi\n', 'app/.env': text }))),
      'bundle.zip': Buffer.from(zipSync({ 'inner.zip': inner, 'notes.txt': strToU8('nothing\n') })),
      'lib.jar': Buffer.from(zipSync({ 'META-INF/MANIFEST.MF': strToU8('Manifest-Version: 1.0\n'), 'config.properties': strToU8(`anthropic.key=${other}\n`) })),
      'data.tgz': Buffer.from(gzipSync(await tarOf({ 'x/y.txt': 'nothing here\n' }))),
    });
    const run = await cli(['scan', '--json'], { cwd: dir });
    expect(run.status).toBe(1);
    expect(where(parse(run))).toEqual([
      ['app.log.gz', 4, 16],
      ['bundle.zip!inner.zip!conf/prod.env', 4, 16],
      ['deploy.tar.gz!app/.env', 3, 16],
      ['lib.jar!config.properties', 1, 15],
    ]);
  });

  it('the zip-bomb fixture really is one: a small copy inflates with zlib to exactly its declared size', async () => {
    const zip = Buffer.from(zeroBombZip(4));
    const start = 30 + zip.readUInt16LE(26) + zip.readUInt16LE(28);
    let total = 0;
    const inflate = createInflateRaw();
    inflate.on('data', (chunk: Buffer) => (total += chunk.length));
    await new Promise((resolve, reject) => {
      inflate.on('end', resolve);
      inflate.on('error', reject);
      inflate.end(zip.subarray(start));
    });
    expect(total).toBe(4 * 1024 * 1024);
  });

  it('refuses a 1 GiB zip bomb with a message, in bounded time and memory, and still finds the key beside it', async () => {
    const dir = await tempDir('bomb');
    const bomb = zeroBombZip(1024);
    expect(bomb.length).toBeLessThan(2 * 1024 * 1024);
    await writeFiles(dir, {
      'bomb.zip': Buffer.from(bomb),
      'nested.zip': Buffer.from(zipSync({ 'inner-bomb.zip': bomb, 'ok.env': strToU8(text) }, { level: 0 })),
      'real.env': text,
    });
    const run = await measured(['scan'], dir);
    expect(run.status, run.stderr).toBe(1);
    expect(run.stdout).toMatch(/ {2}skipped bomb\.zip!zeros\.bin: zip bomb suspected \(ratio \d+:1\)\n/);
    expect(run.stdout).toMatch(/ {2}skipped nested\.zip!inner-bomb\.zip!zeros\.bin: zip bomb suspected \(ratio \d+:1\)\n/);
    expect(run.stdout).toContain('nested.zip!ok.env');
    expect(run.stdout).toContain('real.env');
    expect(run.stdout).toContain('2 refused as zip bombs');
    expect(run.rssMiB).toBeLessThan(300);
    expect(run.ms).toBeLessThan(20_000);

    const sarif = JSON.parse((await cli(['scan', '--format', 'sarif'], { cwd: dir })).stdout) as {
      runs: Array<{ invocations?: Array<{ toolExecutionNotifications: Array<{ message: { text: string }; locations: Array<{ physicalLocation: { artifactLocation: { uri: string } } }> }> }> }>;
    };
    const validate = compileSarifSchema();
    expect(validate(sarif), JSON.stringify(validate.errors)).toBe(true);
    const notes = sarif.runs[0]?.invocations?.[0]?.toolExecutionNotifications ?? [];
    expect(notes.map((n) => n.locations[0]?.physicalLocation.artifactLocation.uri)).toEqual(['bomb.zip!zeros.bin', 'nested.zip!inner-bomb.zip!zeros.bin']);
    expect(notes[0]?.message.text).toMatch(/^skipped: zip bomb suspected \(ratio \d+:1\)$/);
  });

  it('counts an encrypted zip member as skipped (encrypted) and scans the readable ones', async () => {
    const dir = await tempDir('encrypted');
    await writeFiles(dir, {
      'secret.zip': Buffer.from(markEncrypted(zipSync({ 'vault.env': strToU8(text) }))),
      'mixed.zip': Buffer.from(zipSync({ 'open.env': strToU8(text) })),
    });
    const run = await cli(['scan', '--json'], { cwd: dir });
    expect(run.status).toBe(1);
    const report = parse(run);
    expect(where(report)).toEqual([['mixed.zip!open.env', 3, 16]]);
    expect(report.summary.skipped?.encrypted).toBe(1);
    expect(report.summary.skipped?.files).toEqual([{ path: 'secret.zip!vault.env', reason: 'encrypted', detail: 'encrypted zip member' }]);
    const textRun = await cli(['scan', 'secret.zip'], { cwd: dir });
    expect(textRun.stdout.split('\n')[0]).toBe('No AI keys found in 1 file (1 skipped: 1 encrypted).');
  });

  it('a corrupt archive is named as unreadable, never a crash', async () => {
    const dir = await tempDir('corrupt');
    const zip = Buffer.from(zipSync({ 'a.env': strToU8(text) }));
    await writeFiles(dir, { 'broken.zip': Buffer.concat([zip.subarray(0, 40), Buffer.alloc(100, 0x41)]), 'broken.gz': Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3]) });
    const run = await cli(['scan', '--json'], { cwd: dir });
    expect(run.status).toBe(0);
    expect(parse(run).summary.skipped?.files.map((x) => [x.path, x.reason])).toEqual([
      ['broken.gz', 'unreadable'],
      ['broken.zip', 'unreadable'],
    ]);
  });
});

describe('scan reads files of any size', () => {
  it('a key straddling the 8 MiB window boundary of a 20 MB file is found exactly once, at the right line', async () => {
    const dir = await tempDir('straddle');
    const WINDOW = 8 * 1024 * 1024;
    const lineOf = 'x'.repeat(1023) + '\n';
    const file = await open(path.join(dir, 'big.log'), 'w');
    // Keys start just before a window's end, across it, and at the edge of the shared overlap.
    const starts = [WINDOW - 20, 2 * WINDOW - 5, WINDOW + 32 * 1024 - 3];
    const expected: Array<[string, number, number]> = [];
    let written = 0;
    let lines = 0;
    const buffer: string[] = [];
    const flush = async (): Promise<void> => {
      await file.write(buffer.join(''));
      buffer.length = 0;
    };
    for (const start of [...starts].sort((a, b) => a - b)) {
      while (written + lineOf.length <= start - 200) {
        buffer.push(lineOf);
        written += lineOf.length;
        lines++;
        if (buffer.length >= 1024) await flush();
      }
      const prefix = 'y'.repeat(start - written - 5) + ' k = ';
      buffer.push(`${prefix}${key}\n`);
      expected.push(['big.log', lines + 1, prefix.length + 1]);
      written += prefix.length + key.length + 1;
      lines++;
    }
    while (written < 20 * 1000 * 1000) {
      buffer.push(lineOf);
      written += lineOf.length;
      if (buffer.length >= 1024) await flush();
    }
    await flush();
    await file.close();
    const run = await cli(['scan', '--json'], { cwd: dir });
    expect(run.status).toBe(1);
    expect(where(parse(run))).toEqual(expected);
    // With a cap the file is skipped and said so.
    const capped = await cli(['scan', '--max-file-size', '10M'], { cwd: dir });
    expect(capped.status).toBe(0);
    expect(capped.stdout).toContain('No AI keys found in 0 files (1 skipped: 1 larger than 10 MiB (scan.maxFileSize)).');
    expect((await cli(['scan', '--max-file-size', 'lots'], { cwd: dir })).status).toBe(2);
  });

  it('a 50 MB single-line file with a key near the end is found with peak RSS under 300 MB', async () => {
    const dir = await tempDir('single-line');
    const file = await open(path.join(dir, 'dump.min.js'), 'w');
    const block = 'a=1;b="xyz";'.repeat(87381);
    let written = 0;
    while (written < 50 * 1024 * 1024) {
      await file.write(block);
      written += block.length;
    }
    await file.write(`var k="${key}";`);
    await file.close();
    const run = await measured(['scan', '--json'], dir);
    expect(run.status, run.stderr).toBe(1);
    expect(where(parse(run))).toEqual([['dump.min.js', 1, written + 8]]);
    expect(run.rssMiB).toBeLessThan(300);
  }, 120_000);
});

describe('decoding in git sources', () => {
  it('--staged reads UTF-16 files (git shows them as binary) and reports only keys the change adds', async () => {
    const repo = await TestRepo.create();
    await writeFiles(repo.dir, { 'old.ps1': utf16le(`$k = "${other}"\n`, true), 'a.txt': 'a\n' });
    await repo.git('add', '-A');
    await repo.git('commit', '-q', '-m', 'base');
    await writeFiles(repo.dir, {
      'profile.ps1': utf16le(text, false),
      'old.ps1': utf16le(`$k = "${other}"\n# more\n`, true),
      'logs.zip': Buffer.from(zipSync({ 'x.env': strToU8(text) })),
    });
    await repo.git('add', '-A');
    const run = await cli(['scan', '--staged', '--json'], { cwd: repo.dir });
    expect(run.status).toBe(1);
    expect(where(parse(run))).toEqual([
      ['logs.zip!x.env', 3, 16],
      ['profile.ps1', 3, 16],
    ]);
  });

  it('--git finds keys in UTF-16 and zip blobs of old commits, attributed to their commit', async () => {
    const repo = await TestRepo.create();
    await writeFiles(repo.dir, { 'win/setup.ps1': utf16be(text), 'dist/app.zip': Buffer.from(zipSync({ 'cfg/.env': strToU8(`\n${text}`) })) });
    await repo.git('add', '-A');
    await repo.git('commit', '-q', '-m', 'add');
    const added = await repo.git('rev-parse', 'HEAD');
    await repo.git('rm', '-q', 'win/setup.ps1', 'dist/app.zip');
    await repo.git('commit', '-q', '-m', 'remove');
    const run = await cli(['scan', '--git', '--json'], { cwd: repo.dir });
    expect(run.status).toBe(1);
    const report = parse(run);
    expect(where(report)).toEqual([
      ['dist/app.zip!cfg/.env', 4, 16],
      ['win/setup.ps1', 3, 16],
    ]);
    expect(report.findings.map((x) => x.commit?.sha)).toEqual([added, added]);
  });
});

describe('skips in history are named too', () => {
  it('--git counts and names binary blobs, bombs and encrypted members by the path they were committed at', async () => {
    const repo = await TestRepo.create();
    await writeFiles(repo.dir, {
      'assets/logo.png': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 1]),
      'data/blob.bin': Buffer.from(Array.from({ length: 2048 }, (_, i) => (i * 53) % 256)),
      'dist/bomb.zip': Buffer.from(zeroBombZip(64)),
      'dist/locked.zip': Buffer.from(markEncrypted(zipSync({ 'k.env': strToU8(text) }))),
      'README.md': '# hi\n',
    });
    await repo.git('add', '-A');
    await repo.git('commit', '-q', '-m', 'assets');
    const run = await cli(['scan', '--git', '--json'], { cwd: repo.dir });
    expect(run.status, run.stderr).toBe(0);
    const skipped = parse(run).summary.skipped;
    expect(skipped?.files.map((x) => [x.path, x.reason]).sort()).toEqual([
      ['assets/logo.png', 'binary'],
      ['data/blob.bin', 'binary'],
      ['dist/bomb.zip!zeros.bin', 'bomb'],
      ['dist/locked.zip!k.env', 'encrypted'],
    ]);
    const textRun = await cli(['scan', '--git'], { cwd: repo.dir });
    expect(textRun.stdout.split('\n')[0]).toBe('No AI keys found in 3 files (4 skipped: 2 binary, 1 refused as a zip bomb, 1 encrypted).');
  });
});
