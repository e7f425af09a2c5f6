import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export const PROJECT_ROOT = path.resolve(import.meta.dirname, '../..');

export interface ServeProcess {
  child: ChildProcess;
  url: string;
  stdout: () => string;
  stderr: () => string;
  stop(): Promise<number | null>;
}

/** Runs `keywarden serve` as a real process (through tsx, so no build is needed) and waits until it listens. */
export function spawnServe(args: string[], env: NodeJS.ProcessEnv): Promise<ServeProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'src/cli/bin.ts'), 'serve', '--port', '0', ...args], {
    cwd: PROJECT_ROOT,
    // The fake upstream listens on 127.0.0.1, which the outbound policy refuses unless listed.
    env: { PATH: process.env.PATH, HOME: process.env.HOME, KEYWARDEN_OUTBOUND_ALLOW: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // However a test ends (a failed assertion included), its gateways end with the test process.
  const reap = (): void => void child.kill('SIGKILL');
  process.once('exit', reap);
  child.once('exit', () => process.off('exit', reap));
  let out = '';
  let err = '';
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const match = /listening on (http:\/\/\S+)/.exec(out);
      // Wait for the whole banner (it ends with the blank line after the token, or the base-URL line).
      if (match?.[1] && /OpenAI base URL/.test(out)) {
        setTimeout(() => {
          resolve({
            child,
            url: match[1] as string,
            stdout: () => out,
            stderr: () => err,
            stop: () =>
              new Promise((done) => {
                child.once('exit', (code) => done(code));
                child.kill('SIGTERM');
              }),
          });
        }, 100);
      }
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${err}`)));
  });
}
