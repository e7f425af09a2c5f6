import { describe, expect, it } from 'vitest';
import { FakeKeys } from '../../src/scanner/rules/fake-keys.js';
import { cli, tempDir, writeFiles } from './helpers.js';

const f = new FakeKeys(909);
const openai = f.openaiProject();

interface SkippedJson {
  total: number;
  gitignored: number;
  ignoredByConfig: number;
  binary: number;
  tooLarge: number;
  unreadable: number;
  gitignoredDirectories: number;
  gitignoredSensitive: string[];
  gitignoredSensitiveTotal: number;
  include: string | null;
}

interface Report {
  findings: Array<{ path: string }>;
  summary: { total: number; skipped?: SkippedJson };
}

/** A tree whose only key sits in a gitignored .env, beside other things a scan leaves out. */
async function tree(): Promise<string> {
  const dir = await tempDir('skipped');
  await writeFiles(dir, {
    '.gitignore': '.env\n*.pem\nid_rsa\nnode_modules/\nbuild.log\n',
    '.env': `OPENAI_API_KEY=${openai}\n`,
    '.env.example': 'OPENAI_API_KEY=\n',
    'certs/server.pem': '-----BEGIN PRIVATE KEY-----\n',
    'id_rsa': 'not really\n',
    'build.log': 'nothing\n',
    'node_modules/pkg/index.js': `export const k = "${openai}";\n`,
    'logo.png': Buffer.from([0x89, 0x50, 0x4e, 0x47]),
    'blob.dat': Buffer.from([0, 1, 2, 3, 0]),
    'big.txt': `${'a'.repeat(300)}\n`,
    'vendor/generated.ts': 'export {};\n',
    '.keywardenignore': 'vendor/\n',
    'keywarden.config.json': JSON.stringify({ scan: { maxFileSize: 200 } }),
    'src/main.ts': 'console.log(1);\n',
  });
  return dir;
}

describe('keywarden scan says what it did not scan', () => {
  it('text: a clean result still names the gitignored .env, *.pem and id_rsa, counts each reason, and says how to include them', async () => {
    const dir = await tree();
    const run = await cli(['scan'], { cwd: dir });
    expect(run.status).toBe(0);
    // Never "No AI keys found." alone when something was left out (issue 13): it says how many files and what.
    expect(run.stdout.split('\n')[0]).toBe(
      'No AI keys found in 5 files (8 skipped: 4 gitignored, 1 excluded by .keywardenignore or scan.ignorePaths, 2 binary, 1 larger than 200 bytes (scan.maxFileSize)).',
    );
    expect(run.stdout).not.toContain('No AI keys found.');
    expect(run.stdout).toContain('  skipped blob.dat: binary\n');
    expect(run.stdout).toContain('  skipped big.txt: larger than the size limit (200 bytes)\n');
    expect(run.stdout).toContain(
      'Not scanned: 8 files (4 gitignored, 1 excluded by .keywardenignore or scan.ignorePaths, 2 binary, 1 larger than 200 bytes (scan.maxFileSize)) and 1 gitignored directory.',
    );
    expect(run.stdout).toContain('Gitignored files that often hold secrets were not scanned: .env, certs/server.pem, id_rsa.');
    // A committed template is not a secret file; a log is not either.
    expect(run.stdout).not.toMatch(/not scanned: .*\.env\.example/);
    expect(run.stdout).not.toMatch(/not scanned: .*build\.log/);
    expect(run.stdout).toContain('keywarden scan --no-gitignore');

    // Following the advice finds the key.
    const all = await cli(['scan', '--no-gitignore', '--json'], { cwd: dir });
    expect(all.status).toBe(1);
    const report = JSON.parse(all.stdout) as Report;
    expect(report.findings.map((x) => x.path)).toEqual(['.env', 'node_modules/pkg/index.js']);
    expect(report.summary.skipped).toMatchObject({ gitignored: 0, gitignoredDirectories: 0, gitignoredSensitive: [], include: null });
  });

  it('--json (and --format json) carry the same counts in summary.skipped', async () => {
    const dir = await tree();
    for (const args of [['scan', '--json'], ['scan', '--format', 'json']]) {
      const run = await cli(args, { cwd: dir });
      expect(run.status).toBe(0);
      const skipped = (JSON.parse(run.stdout) as Report).summary.skipped;
      expect(skipped).toEqual({
        total: 8,
        gitignored: 4,
        ignoredByConfig: 1,
        binary: 2,
        tooLarge: 1,
        unreadable: 0,
        bomb: 0,
        encrypted: 0,
        gitignoredDirectories: 1,
        gitignoredSensitive: ['.env', 'certs/server.pem', 'id_rsa'],
        gitignoredSensitiveTotal: 3,
        maxFileSize: 200,
        include: 'keywarden scan --no-gitignore',
        scannedFiles: 5,
        binaryMembers: 0,
        // Every file skipped for its content is named with its reason.
        files: [
          { path: 'logo.png', reason: 'binary' },
          { path: 'big.txt', reason: 'tooLarge', detail: 'larger than the size limit (200 bytes)' },
          { path: 'blob.dat', reason: 'binary' },
        ],
        filesTotal: 3,
      });
    }
    expect((await cli(['scan', '--json', '--format', 'sarif'], { cwd: dir })).status).toBe(2);
  });

  it('says nothing about skips when nothing was skipped, and caps a huge list of secret-like names', async () => {
    const clean = await tempDir('skipped-clean');
    await writeFiles(clean, { 'a.ts': 'export {};\n' });
    const run = await cli(['scan'], { cwd: clean });
    expect(run.stdout).toBe('No AI keys found.\n');

    const many = await tempDir('skipped-many');
    const files: Record<string, string> = { '.gitignore': '*.key\n' };
    for (let i = 0; i < 250; i++) files[`k/${String(i).padStart(3, '0')}.key`] = 'x\n';
    await writeFiles(many, files);
    const report = JSON.parse((await cli(['scan', '--json'], { cwd: many })).stdout) as Report;
    expect(report.summary.skipped?.gitignored).toBe(250);
    expect(report.summary.skipped?.gitignoredSensitive).toHaveLength(20);
    expect(report.summary.skipped?.gitignoredSensitiveTotal).toBe(250);
    const text = (await cli(['scan'], { cwd: many })).stdout;
    expect(text).toContain('k/019.key and 230 more.');
  });

  it('a file name with a newline cannot forge a line of the report', async () => {
    const dir = await tempDir('skipped-newline');
    await writeFiles(dir, { '.gitignore': '.env*\n', '.env\nNo AI keys found.': 'x\n', 'a.ts': `const k = "${openai}";\n` });
    const run = await cli(['scan'], { cwd: dir });
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('not scanned: ".env\\nNo AI keys found."');
    expect(run.stdout.split('\n')).not.toContain('No AI keys found.');
  });
});

describe('scan task runner skip counts', () => {
  it('counts a file that vanished or cannot be read between listing and reading as unreadable, and content-binary files as binary', async () => {
    const { createTaskRunner } = await import('../../src/scanner/sources/task-runner.js');
    const dir = await tempDir('skipped-runner');
    await writeFiles(dir, { 'text.txt': 'hello\n', 'nul.txt': Buffer.from([0x61, 0, 0x62]), 'big.txt': 'x'.repeat(50) });
    const runner = createTaskRunner({ disabledRules: [], decode: true, maxFileSize: 20 });
    const file = (name: string): { absolute: string; relative: string } => ({ absolute: `${dir}/${name}`, relative: name });
    const result = await runner.run({ kind: 'files', files: [file('text.txt'), file('nul.txt'), file('big.txt'), file('gone.txt'), { absolute: dir, relative: 'a-directory' }] });
    expect(result.items).toBe(5);
    expect(result.skipped).toEqual([
      { path: 'nul.txt', reason: 'binary' },
      { path: 'big.txt', reason: 'tooLarge', detail: 'larger than the size limit (20 bytes)' },
      { path: 'gone.txt', reason: 'unreadable' },
      { path: 'a-directory', reason: 'unreadable' },
    ]);
    expect(result.scanned).toBe(1);
  });
});
