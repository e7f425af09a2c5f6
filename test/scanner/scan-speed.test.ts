import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateDeepTree, type DeepTree } from '../../src/scanner/corpus/deep-tree.js';
import { FakeKeys } from '../../src/scanner/rules/fake-keys.js';
import { bin, cli, tempDir, TestRepo, writeFiles, type CliRun } from './helpers.js';

interface Report {
  findings: Array<{ path: string; fingerprint: string; ruleId: string }>;
  summary: { skipped?: { gitignored: number; ignoredByConfig: number; unreadable: number; gitignoredDirectories: number } };
}

const sha = (text: string): string => createHash('sha256').update(text).digest('hex');
const parse = (run: CliRun): Report => JSON.parse(run.stdout) as Report;
const found = (run: CliRun): string[] => parse(run).findings.map((f) => `${f.path} ${f.fingerprint}`).sort();

/** The `keywarden: stats {...}` line KEYWARDEN_SCAN_STATS=1 prints. */
function workerThreads(run: CliRun): number {
  const line = /keywarden: stats (\{.*\})/.exec(run.stderr)?.[1];
  if (line === undefined) throw new Error(`no stats line in: ${run.stderr}`);
  return (JSON.parse(line) as { workerThreads: number }).workerThreads;
}

async function writeTree(tree: DeepTree): Promise<string> {
  const dir = await tempDir('deep');
  for (const directory of tree.directories) await mkdir(path.join(dir, directory), { recursive: true });
  for (const file of tree.files) await writeFile(path.join(dir, file.path), file.content);
  return dir;
}

describe('scan: listing while scanning', () => {
  it('finds exactly the planted keys of a deep generated tree, in a stable order, with and without worker threads', async () => {
    const tree = generateDeepTree({ seed: 4242, files: 900, directories: 1600, totalBytes: 4 * 1024 * 1024 });
    const dir = await writeTree(tree);
    // The planted list comes from the generator, not from any scan: an independent answer key.
    const expected = tree.planted.map((p) => `${p.path} ${sha(p.secret)}`).sort();
    expect(expected.length).toBeGreaterThan(40);
    expect(new Set(tree.planted.map((p) => p.path.split('/').length)).size).toBeGreaterThan(5);

    const threaded = await bin(['scan', '--json', '--no-progress'], { cwd: dir, env: { KEYWARDEN_SCAN_STATS: '1' } });
    expect(threaded.status).toBe(1);
    expect(found(threaded)).toEqual(expected);
    // 900 files: worth a thread; the scan above really ran on several threads.
    expect(workerThreads(threaded)).toBeGreaterThanOrEqual(1);

    const again = await bin(['scan', '--json', '--no-progress'], { cwd: dir });
    expect(again.stdout).toBe(threaded.stdout);

    const inProcess = await cli(['scan', '--json'], { cwd: dir });
    expect(inProcess.stdout).toBe(threaded.stdout);
  }, 120_000);

  it('applies nested .gitignore files, .keywardenignore and config ignores across a wide concurrent walk', async () => {
    const f = new FakeKeys(77);
    const dir = await tempDir('ignores');
    const kept: string[] = [];
    const files: Record<string, string> = {
      '.gitignore': 'build/\n*.log\n',
      '.keywardenignore': 'fixtures/\n',
      'keywarden.config.json': JSON.stringify({ scan: { ignorePaths: ['**/generated-*.ts'] } }),
    };
    // 120 sibling packages, each with its own .gitignore: far more directories than one turn of the walk.
    for (let i = 0; i < 120; i++) {
      const key = f.groq();
      files[`packages/p${i}/.gitignore`] = i % 2 === 0 ? 'local.env\n' : 'secret/\n';
      files[`packages/p${i}/src/deep/er/index.ts`] = `export const GROQ_API_KEY = '${key}';\n`;
      kept.push(`packages/p${i}/src/deep/er/index.ts ${sha(key)}`);
      files[`packages/p${i}/local.env`] = `GROQ_API_KEY=${f.groq()}\n`;
      files[`packages/p${i}/secret/keys.ts`] = `export const k = '${f.groq()}';\n`;
      files[`packages/p${i}/build/out.js`] = `var k="${f.groq()}";\n`;
      files[`packages/p${i}/run.log`] = `GROQ_API_KEY=${f.groq()}\n`;
      files[`packages/p${i}/fixtures/leak.ts`] = `const k = '${f.groq()}';\n`;
      files[`packages/p${i}/src/generated-${i}.ts`] = `const k = '${f.groq()}';\n`;
    }
    await writeFiles(dir, files);
    // Even packages ignore local.env (kept in odd ones), odd packages ignore secret/ (kept in even ones).
    for (let i = 0; i < 120; i++) {
      const file = i % 2 === 0 ? `packages/p${i}/secret/keys.ts` : `packages/p${i}/local.env`;
      const key = /'?(gsk_\w+)/.exec(files[file] ?? '')?.[1] ?? '';
      kept.push(`${file} ${sha(key)}`);
    }
    for (const run of [
      await bin(['scan', '--json', '--no-progress'], { cwd: dir, env: { KEYWARDEN_SCAN_STATS: '1' } }),
      await cli(['scan', '--json'], { cwd: dir }),
    ]) {
      expect(run.status).toBe(1);
      expect(found(run)).toEqual(kept.sort());
      expect(parse(run).summary.skipped).toMatchObject({
        gitignored: 60 + 120, // local.env in even packages, run.log everywhere
        gitignoredDirectories: 60 + 120, // secret/ in odd packages, build/ everywhere
        ignoredByConfig: 120 + 120, // fixtures/ (.keywardenignore) and generated-*.ts (scan.ignorePaths)
      });
    }
  }, 120_000);

  it('does not follow symbolic links: a link loop neither hangs the scan nor reports a key twice', async () => {
    const f = new FakeKeys(5);
    const key = f.groq();
    const dir = await tempDir('symlinks');
    await writeFiles(dir, { 'a/b/c/app.ts': `const GROQ_API_KEY = '${key}';\n` });
    await symlink('.', path.join(dir, 'loop'));
    await symlink('../..', path.join(dir, 'a', 'b', 'up'));
    await symlink(path.join(dir, 'a'), path.join(dir, 'a', 'b', 'c', 'again'));
    await symlink(path.join(dir, 'a', 'b', 'c', 'app.ts'), path.join(dir, 'linked.ts'));
    const run = await bin(['scan', '--json', '--no-progress'], { cwd: dir });
    expect(run.status).toBe(1);
    expect(found(run)).toEqual([`a/b/c/app.ts ${sha(key)}`]);
  }, 60_000);

  it.skipIf(process.getuid?.() === 0)('counts an unreadable directory as skipped and scans the rest', async () => {
    const f = new FakeKeys(6);
    const key = f.groq();
    const dir = await tempDir('unreadable');
    await writeFiles(dir, { 'ok/app.ts': `const GROQ_API_KEY = '${key}';\n`, 'locked/inner/x.ts': 'x\n' });
    await chmod(path.join(dir, 'locked'), 0o000);
    try {
      const run = await cli(['scan', '--json'], { cwd: dir });
      expect(run.status).toBe(1);
      expect(found(run)).toEqual([`ok/app.ts ${sha(key)}`]);
      expect(parse(run).summary.skipped?.unreadable).toBe(1);
    } finally {
      await chmod(path.join(dir, 'locked'), 0o755);
    }
  });
});

describe('scan: worker threads only when they pay', () => {
  it('starts no worker thread for a few files, nor for one big file, but does for many files', async () => {
    const f = new FakeKeys(8);
    const dir = await tempDir('small');
    await writeFiles(dir, {
      'a.ts': `const GROQ_API_KEY = '${f.groq()}';\n`,
      'b/c.py': 'print(1)\n',
      'b/d.json': '{"a": 1}\n',
      'big/dump.txt': `${'lorem ipsum dolor sit amet '.repeat(360_000)}\n`, // ~9.7 MB: above the bytes threshold
    });
    const small = await bin(['scan', '--json', '--no-progress'], { cwd: dir, env: { KEYWARDEN_SCAN_STATS: '1' } });
    expect(small.status).toBe(1);
    expect(parse(small).findings).toHaveLength(1);
    expect(workerThreads(small)).toBe(0);

    const one = await bin(['scan', 'big/dump.txt', '--json', '--no-progress'], { cwd: dir, env: { KEYWARDEN_SCAN_STATS: '1' } });
    expect(one.status).toBe(0);
    expect(workerThreads(one)).toBe(0);

    const many: Record<string, string> = {};
    for (let i = 0; i < 400; i++) many[`m/${i % 40}/f${i}.ts`] = `export const v${i} = ${i};\n`;
    await writeFiles(dir, many);
    const large = await bin(['scan', '--json', '--no-progress'], { cwd: dir, env: { KEYWARDEN_SCAN_STATS: '1' } });
    expect(large.status).toBe(1);
    expect(workerThreads(large)).toBeGreaterThanOrEqual(1);
  }, 60_000);
});

/** A loader hook that writes every file: URL the process loads to KW_LOAD_LOG. */
async function loadRecorder(): Promise<string> {
  const dir = await tempDir('loader');
  await writeFile(
    path.join(dir, 'hooks.mjs'),
    "import { appendFileSync } from 'node:fs';\n" +
      'export async function load(url, context, next) {\n' +
      "  if (url.startsWith('file:')) appendFileSync(process.env.KW_LOAD_LOG, url + '\\n');\n" +
      '  return next(url, context);\n}\n',
  );
  await writeFile(path.join(dir, 'register.mjs'), "import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n");
  return path.join(dir, 'register.mjs');
}

/** Modules `scan --staged` must not load: threads, the walk, git object readers, verification, SARIF, remote. */
const HEAVY = [
  /\/scanner\/sources\/(worker-pool|lazy-pool|task-runner|walk|cat-file|git-log|sources)\.js$/,
  /\/scanner\/(verify|remote|baseline)\//,
  /\/scanner\/reporters\/(sarif|progress-bar)\.js$/,
  /\/node_modules\/(undici|ignore|zod|yaml|cli-progress)\//,
];

describe('scan --staged start-up', () => {
  it('loads none of the heavy modules (a path scan, as a control, does)', async () => {
    const register = await loadRecorder();
    const repo = await TestRepo.create();
    await repo.commit('init', { 'README.md': 'hello\n' });
    await writeFiles(repo.dir, { 'app.ts': `const GROQ_API_KEY = '${new FakeKeys(3).groq()}';\n` });
    await repo.git('add', 'app.ts');
    const loaded = async (args: string[]): Promise<string[]> => {
      const log = path.join(await tempDir('loadlog'), 'log');
      await writeFile(log, '');
      const run = await bin(args, { cwd: repo.dir, env: { KW_LOAD_LOG: log }, nodeArgs: ['--import', register] });
      expect(run.status).toBe(1); // the staged key is found either way
      return (await readFile(log, 'utf8')).split('\n').filter(Boolean);
    };
    const staged = await loaded(['scan', '--staged', '--json']);
    expect(staged.some((url) => url.endsWith('/cli/commands/scan.js'))).toBe(true);
    expect(staged.filter((url) => HEAVY.some((heavy) => heavy.test(url)))).toEqual([]);

    const paths = await loaded(['scan', '.', '--json', '--no-progress']);
    expect(paths.filter((url) => HEAVY.some((heavy) => heavy.test(url))).length).toBeGreaterThan(2);
  }, 60_000);
});
