// The package as users get it: `npm pack`, installed globally into a temporary prefix, run from outside the
// project. Slow (it installs dependencies through npm), so it runs as `npm run test:pack`, not in `npm test`.
import { execFile, spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import ajv2020 from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { FakeKeys } from '../../src/scanner/rules/fake-keys.js';

const exec = promisify(execFile);
const PROJECT_ROOT = path.resolve(import.meta.dirname, '../..');
const keys = new FakeKeys(4242);
let work: string;
let prefix: string;
let tarball: string;
let binary: string;
let installedRoot: string;
/** Only system tools and this node on PATH: the installed binary must not need the project or npx. */
let basePath: string;

async function run(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<{ status: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(binary, args, { cwd, env: { PATH: basePath, HOME: work, ...env }, timeout: 60_000 });
    return { status: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code?: unknown; stdout?: string; stderr?: string };
    return { status: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

async function git(cwd: string, ...args: string[]): Promise<number> {
  try {
    await exec('git', args, { cwd, env: { PATH: basePath, HOME: work, GIT_CONFIG_NOSYSTEM: '1' } });
    return 0;
  } catch {
    return 1;
  }
}

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'kw-pack-'));
  prefix = path.join(work, 'prefix');
  basePath = [path.dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(':');
  // dist/ is built by `npm test`/`npm run build` before this runs; --ignore-scripts keeps `prepare` from rebuilding it.
  await exec('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', work], { cwd: PROJECT_ROOT });
  const packed = (await readdir(work)).find((name) => name.endsWith('.tgz'));
  if (packed === undefined) throw new Error('npm pack wrote no tarball');
  tarball = path.join(work, packed);
  // Dependencies come from the npm cache or the registry; install scripts are skipped so better-sqlite3 is not
  // compiled (or fetched from GitHub): the native binding this test process already uses is copied in instead.
  await exec('npm', ['install', '-g', '--prefix', prefix, tarball, '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], {
    cwd: work,
    timeout: 240_000,
  });
  installedRoot = path.join(prefix, 'lib', 'node_modules', 'keywarden');
  const bindingDir = path.join(installedRoot, 'node_modules', 'better-sqlite3', 'build', 'Release');
  await mkdir(bindingDir, { recursive: true });
  await copyFile(path.join(PROJECT_ROOT, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'), path.join(bindingDir, 'better_sqlite3.node'));
  binary = path.join(prefix, 'bin', 'keywarden');
}, 300_000);

afterAll(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe('the packed and installed package', () => {
  it('ships dist/ (with the config schema) and no sources or tests; prepare builds dist for git installs', async () => {
    const { stdout } = await exec('tar', ['tzf', tarball]);
    const files = stdout.split('\n');
    expect(files).toContain('package/dist/cli/bin.js');
    expect(files).toContain('package/dist/keywarden.schema.json');
    expect(files.filter((file) => file.startsWith('package/src/') || file.startsWith('package/test/'))).toEqual([]);
    const pkg = JSON.parse(await readFile(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string>; version: string };
    expect(pkg.scripts.prepare).toContain('build');
  });

  it('keywarden --version and -V print the package version', async () => {
    const { version } = JSON.parse(await readFile(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const result = await run([flag], work);
      expect(result).toMatchObject({ status: 0, stdout: `${version}\n` });
    }
  });

  it('scan: exit 1 on a planted key, exit 0 on a clean tree', async () => {
    const dirty = path.join(work, 'dirty');
    const clean = path.join(work, 'clean');
    await mkdir(dirty);
    await mkdir(clean);
    await writeFile(path.join(dirty, 'config.py'), `OPENAI_API_KEY = "${keys.openaiProject()}"\n`);
    await writeFile(path.join(clean, 'config.py'), 'OPENAI_API_KEY = os.environ["OPENAI_API_KEY"]\n');
    const found = await run(['scan', '--json', dirty], work);
    expect(found.status).toBe(1);
    expect((JSON.parse(found.stdout) as { findings: unknown[] }).findings).toHaveLength(1);
    expect(await run(['scan', clean], work)).toMatchObject({ status: 0 });
  });

  it('hook install in a repository outside the project: runs the installed binary, blocks only a commit that adds a key', async () => {
    const repo = path.join(work, 'repo');
    await mkdir(repo);
    expect(await git(repo, 'init', '-q')).toBe(0);
    await git(repo, 'config', 'user.email', 'dev@example.com');
    await git(repo, 'config', 'user.name', 'Dev');
    await git(repo, 'config', 'commit.gpgsign', 'false');
    const installed = await run(['hook', 'install', '--json'], repo);
    expect(installed.status, installed.stderr).toBe(0);
    const hook = await readFile(path.join(repo, '.git', 'hooks', 'pre-commit'), 'utf8');
    expect(hook).toContain(path.join(installedRoot, 'dist', 'cli', 'bin.js'));
    expect(hook).not.toContain('npx');

    await writeFile(path.join(repo, 'app.ts'), 'export const model = "gpt-4o-mini";\n');
    await git(repo, 'add', 'app.ts');
    expect(await git(repo, 'commit', '-q', '-m', 'clean')).toBe(0);
    await writeFile(path.join(repo, 'leak.ts'), `export const key = "${keys.anthropic()}";\n`);
    await git(repo, 'add', 'leak.ts');
    expect(await git(repo, 'commit', '-q', '-m', 'leak')).toBe(1);
    // Only the clean commit exists.
    const { stdout: count } = await exec('git', ['rev-list', '--count', 'HEAD'], { cwd: repo });
    expect(count.trim()).toBe('1');
  });

  it('serve answers /healthz and stops on SIGTERM', async () => {
    const child = spawn(binary, ['serve', '--port', '0', '--data', path.join(work, 'data')], {
      cwd: work,
      env: { PATH: basePath, HOME: work },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`serve did not start: ${out}`)), 30_000);
      child.stdout.on('data', () => {
        const match = /listening on (http:\/\/\S+)/.exec(out);
        if (match?.[1] !== undefined) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
      child.once('exit', (code) => reject(new Error(`serve exited with ${code}`)));
    });
    try {
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    } finally {
      const code = await new Promise<number | null>((resolve) => {
        child.once('exit', resolve);
        child.kill('SIGTERM');
      });
      expect(code).toBe(0);
    }
  });

  it('init writes a config whose $schema is the shipped schema file, and the config validates against it', async () => {
    const dir = path.join(work, 'init');
    await mkdir(dir);
    expect((await run(['init'], dir)).status).toBe(0);
    const config = parseYaml(await readFile(path.join(dir, 'keywarden.config.yaml'), 'utf8')) as { $schema: string };
    expect(config.$schema).toBe(path.join(installedRoot, 'dist', 'keywarden.schema.json'));
    const schema = JSON.parse(await readFile(config.$schema, 'utf8')) as object;
    const Ajv2020 = ajv2020.default;
    expect(new Ajv2020({ strict: false }).compile(schema)(config)).toBe(true);
  });
});
