import { spawn } from 'node:child_process';

/**
 * Runs a TypeScript child (through tsx) and kill -9s it the moment it writes its one-line JSON report to stdout;
 * resolves with the report once the child is gone. Fails if the child exits on its own or reports nothing in 60 s.
 */
export function runUntilReport<T>(script: string, args: readonly string[]): Promise<T> {
  const proc = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`child gave no report: ${err}`));
    }, 60_000);
    proc.stderr.on('data', (c: Buffer) => (err += c.toString()));
    proc.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (!out.includes('\n')) return;
      proc.kill('SIGKILL');
      clearTimeout(timer);
      proc.once('exit', () => resolve(JSON.parse(out) as T));
    });
    proc.once('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`child exited with ${code}: ${err}`));
    });
  });
}
