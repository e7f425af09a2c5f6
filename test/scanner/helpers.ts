import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { cli as runInProcess, type CliRun } from '../cli/run-cli.js';

const exec = promisify(execFile);
export const PROJECT_ROOT = path.resolve(fileURLToPath(import.meta.url), '../../..');
export const BIN = path.join(PROJECT_ROOT, 'dist', 'cli', 'bin.js');

export type { CliRun } from '../cli/run-cli.js';

/** Runs the CLI in-process with captured output; stdin is a (possibly empty) pipe, never a terminal. */
export function cli(args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; stdin?: string }): Promise<CliRun> {
  return runInProcess(args, options.env ?? {}, { cwd: options.cwd, stdin: options.stdin ?? '' });
}

/** Runs the built CLI (dist/cli/bin.js) as a real process; worker threads only exist there. */
export function bin(args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; stdin?: string; nodeArgs?: string[] }): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), BIN, ...args], { cwd: options.cwd, env: { PATH: process.env.PATH, ...options.env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ status: code ?? -1, stdout: out, stderr: err }));
    child.stdin.end(options.stdin ?? '');
  });
}

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(tmpdir(), `kw-${prefix}-`));
}

export async function writeFiles(root: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, name)), { recursive: true });
    await writeFile(path.join(root, name), content);
  }
}

/** A throwaway git repository with a fixed identity and commit clock, so history tests are deterministic. */
export class TestRepo {
  private tick = 0;

  constructor(readonly dir: string) {}

  static async create(): Promise<TestRepo> {
    const repo = new TestRepo(await tempDir('repo'));
    await repo.git('init', '-q', '-b', 'main');
    await repo.git('config', 'user.email', 'dev@example.com');
    await repo.git('config', 'user.name', 'Dev One');
    await repo.git('config', 'commit.gpgsign', 'false');
    return repo;
  }

  async git(...args: string[]): Promise<string> {
    const date = `2024-01-01T00:${String(Math.floor(this.tick / 60)).padStart(2, '0')}:${String(this.tick % 60).padStart(2, '0')}Z`;
    const { stdout } = await exec('git', args, {
      cwd: this.dir,
      env: { ...process.env, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date },
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout.trim();
  }

  /** Writes files (null deletes), stages everything and commits; returns the new commit's sha. */
  async commit(message: string, files: Record<string, string | null>, author?: string): Promise<string> {
    for (const [name, content] of Object.entries(files)) {
      if (content === null) await this.git('rm', '-q', name);
      else await writeFiles(this.dir, { [name]: content });
    }
    await this.git('add', '-A');
    this.tick++;
    const args = ['commit', '-q', '-m', message];
    if (author !== undefined) args.push('--author', author);
    await this.git(...args);
    return this.git('rev-parse', 'HEAD');
  }
}
