import { PassThrough, Readable } from 'node:stream';
import { runCli } from '../../src/cli/program.js';

export interface CliRun {
  status: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Text on stdin; without it stdin is an interactive terminal with nothing to read. */
  stdin?: string;
  cwd?: string;
}

/** Runs the CLI in-process, as bin.ts would, with captured output and an explicit environment. */
export async function cli(argv: string[], env: NodeJS.ProcessEnv, options: CliOptions = {}): Promise<CliRun> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const { stdin } = options;
  const input = Object.assign(Readable.from(stdin === undefined ? [] : [Buffer.from(stdin)]), { isTTY: stdin === undefined });
  const status = await runCli(argv, { stdout, stderr, stdin: input, env: { ...env }, cwd: options.cwd ?? process.cwd() });
  return { status, stdout: out, stderr: err };
}
