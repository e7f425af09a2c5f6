import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { KeywardenError } from '../../errors/index.js';

/** git with settings that make its output stable to parse, whatever the user's configuration. */
const GIT_BASE_ARGS = ['-c', 'core.quotePath=false', '-c', 'diff.noprefix=false', '-c', 'log.showSignature=false'];

export function spawnGit(args: readonly string[], cwd: string): ChildProcessWithoutNullStreams {
  return spawn('git', [...GIT_BASE_ARGS, ...args], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
}

/**
 * Runs git and streams stdout chunks to `onChunk`. Rejects with a safe KeywardenError on failure: git's stderr is
 * summarised by its first line only, which names refs or paths but never file contents.
 */
export function streamGit(args: readonly string[], cwd: string, onChunk: (chunk: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawnGit(args, cwd);
    child.stdin.end();
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => onChunk(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 4096) stderr += chunk.toString('utf8');
    });
    child.on('error', () => reject(new KeywardenError('KW_USAGE', { message: 'git is not installed or not on PATH' })));
    child.on('close', (code) => {
      if (code === 0) resolve();
      else {
        const reason = stderr.split('\n').find((line) => line.trim() !== '') ?? `exit code ${String(code)}`;
        reject(new KeywardenError('KW_USAGE', { message: `git ${args[0] ?? ''} failed: ${reason.trim()}` }));
      }
    });
  });
}

export async function runGit(args: readonly string[], cwd: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await streamGit(args, cwd, (chunk) => chunks.push(chunk));
  return Buffer.concat(chunks);
}

/** The repository's top-level directory, or a usage error when `cwd` is not inside a work tree. */
export async function gitTopLevel(cwd: string): Promise<string> {
  return (await runGit(['rev-parse', '--show-toplevel'], cwd)).toString('utf8').trim();
}
