import { Command, CommanderError } from 'commander';
import { KeywardenError } from '../errors/index.js';
import { registerCommands } from './commands/index.js';
import { EXIT_ERROR, EXIT_OK, writeLine, type CliIo } from './io.js';

/** A command action's result: the exit status it wants. Only bin.ts turns this into process.exitCode. */
export type CommandResult = number | void;

/**
 * Runs the CLI in-process and returns the exit status. Commands write through `io`, never to process.* directly,
 * so tests can capture output.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let status = EXIT_OK;
  const program = new Command('keywarden')
    .description('Guards AI API keys from leak to bill.')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    });
  try {
    await registerCommands(
      program,
      io,
      (code) => {
        status = code;
      },
      argv[0],
    );
    await program.parseAsync([...argv], { from: 'user' });
    return status;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version arrive here as "errors" with exit code 0.
      return err.exitCode === 0 ? EXIT_OK : EXIT_ERROR;
    }
    if (err instanceof KeywardenError) {
      writeLine(io.stderr, `keywarden: ${err.message} (${err.code})`);
      return EXIT_ERROR;
    }
    writeLine(io.stderr, `keywarden: unexpected error: ${err instanceof Error ? err.name : 'unknown'}`);
    return EXIT_ERROR;
  }
}
