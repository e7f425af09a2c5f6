import { CommanderError } from 'commander';
import { KeywardenError } from '../errors/index.js';
import { writeLine, type CliIo } from './io.js';

/** True when the user asked for machine output: errors then come as JSON too. Arguments after `--` do not count. */
export function wantsJson(argv: readonly string[]): boolean {
  for (const arg of argv) {
    if (arg === '--') return false;
    if (arg === '--json' || arg === '--format=json') return true;
  }
  return false;
}

export interface CliErrorReport {
  code: string;
  message: string;
}

/** What to say about a thrown value: our own errors speak for themselves; anything else by class and errno only. */
export function describeCliError(err: unknown): CliErrorReport {
  if (err instanceof KeywardenError) return { code: err.code, message: err.message };
  if (err instanceof CommanderError) return { code: 'KW_USAGE', message: err.message.replace(/^error: /, '') };
  const name = err instanceof Error ? err.name : typeof err;
  const errno = (err as { code?: unknown } | null)?.code;
  // A foreign error's message can carry request details or paths with secrets in them: name and errno only.
  return { code: 'KW_INTERNAL', message: `unexpected error: ${name}${typeof errno === 'string' ? ` (${errno})` : ''}` };
}

/**
 * Prints a failure. With --json: one JSON object `{"error":{"code","message"}}` on stdout, where a script reads
 * the command's result. Otherwise one line on stderr.
 */
export function reportCliError(io: CliIo, err: unknown, json: boolean): void {
  const report = describeCliError(err);
  if (json) {
    io.stdout.write(`${JSON.stringify({ error: report })}\n`);
    return;
  }
  if (err instanceof CommanderError) return; // commander already printed its own message to stderr
  const suffix = err instanceof KeywardenError ? ` (${report.code})` : '';
  writeLine(io.stderr, `keywarden: ${report.message}${suffix}`);
}
