import { Command, CommanderError } from 'commander';
import { toolVersion } from '../scanner/version.js';
import { registerCommands } from './commands/index.js';
import { reportCliError, wantsJson } from './error-output.js';
import { EXIT_ERROR, EXIT_OK, writeLine, type CliIo } from './io.js';

/** A command action's result: the exit status it wants. Only bin.ts turns this into process.exitCode. */
export type CommandResult = number | void;

/**
 * Runs the CLI in-process and returns the exit status. Commands write through `io`, never to process.* directly,
 * so tests can capture output.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let status = EXIT_OK;
  const json = wantsJson(argv);
  // Answered before any command module loads: `keywarden --version` must be instant.
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
    writeLine(io.stdout, toolVersion());
    return EXIT_OK;
  }
  const program = new Command('keywarden')
    .description('Guards AI API keys from leak to bill.')
    .version(toolVersion(), '-V, --version', 'print the version')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      // With --json the error is reported once, as JSON, by reportCliError.
      outputError: (text, write) => {
        if (!json) write(text);
      },
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
    // --help and --version arrive here as "errors" with exit code 0.
    if (err instanceof CommanderError && err.exitCode === 0) return EXIT_OK;
    reportCliError(io, err, json);
    return EXIT_ERROR;
  }
}
