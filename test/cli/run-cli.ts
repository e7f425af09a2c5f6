import { PassThrough, Readable } from 'node:stream';
import { runCli } from '../../src/cli/program.js';

export interface CliRun {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process with captured output, an explicit environment and optional stdin. */
export async function cli(argv: string[], env: NodeJS.ProcessEnv, stdin?: string): Promise<CliRun> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const input = Object.assign(Readable.from(stdin === undefined ? [] : [Buffer.from(stdin)]), { isTTY: stdin === undefined });
  const status = await runCli(argv, { stdout, stderr, stdin: input, env, cwd: process.cwd() });
  return { status, stdout: out, stderr: err };
}
