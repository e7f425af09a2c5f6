import type { Command } from 'commander';
import { loadConfig } from '../../config/index.js';
import { createLogger } from '../../log/logger.js';
import { ADMIN_TOKEN_ENV, OPENAI_KEY_ENV, type BootstrapNotice } from '../../server/bootstrap.js';
import { explainStartFailure } from '../../server/start-errors.js';
import { startServer, type RunningServer } from '../../server/start-server.js';
import { tuneV8ForServing } from '../../server/v8-tuning.js';
import { EXIT_OK, writeJson, writeLine, type CliIo } from '../io.js';
import type { SetStatus } from './index.js';

interface ServeOptions {
  json?: boolean;
  host?: string;
  port?: string;
  data?: string;
  config?: string;
}

export function registerServe(program: Command, io: CliIo, setStatus: SetStatus): void {
  program
    .command('serve')
    .description('Run the gateway (OpenAI-compatible proxy, admin API and health probes).')
    .option('--host <host>', 'interface to listen on (default 127.0.0.1)')
    .option('--port <port>', 'port to listen on (default 8787)')
    .option('--data <dir>', 'data directory (default ./.keywarden)')
    .option('--config <file>', 'config file (JSON or YAML)')
    .option('--json', 'print the start-up banner as one JSON line')
    .action(async (options: ServeOptions) => {
      tuneV8ForServing();
      const config = await loadConfig({
        file: options.config,
        env: io.env,
        cwd: io.cwd,
        overrides: {
          'server.host': options.host,
          'server.port': options.port === undefined ? undefined : Number(options.port),
          dataDir: options.data,
        },
      });
      const logger = createLogger(config.log.level, io.stderr);
      let running: RunningServer;
      try {
        running = await startServer({ config, env: io.env, logger });
      } catch (err) {
        throw explainStartFailure(err, { host: config.server.host, port: config.server.port, dataDir: config.dataDir });
      }
      const { notice } = running;
      if (options.json) {
        writeJson(io.stdout, {
          listening: running.url,
          baseUrl: `${running.url}/v1`,
          dataDir: config.dataDir,
          createdMasterKeyFile: notice.createdMasterKeyFile,
          adminToken: notice.createdAdminToken,
          importedOpenAIKey: notice.importedOpenAIKey,
          setupLink: notice.setupLink ?? null,
        });
      } else {
        printBanner(io, running.url, config.dataDir, notice);
      }
      const signal = await untilSignal();
      logger.info('stopping: finishing requests in flight', { signal });
      await running.close();
      logger.info('keywarden stopped', { signal });
      setStatus(EXIT_OK);
    });
}

function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** Lines a person can paste into another shell as they are: no placeholders to fill in. */
function printBanner(io: CliIo, url: string, dataDir: string, notice: BootstrapNotice): void {
  writeLine(io.stdout, `keywarden gateway listening on ${url} (data: ${dataDir})`);
  writeLine(io.stdout, `  OpenAI base URL for apps: ${url}/v1`);
  if (notice.createdMasterKeyFile) writeLine(io.stdout, `  created master key file ${dataDir}/master.key (mode 0600): back it up`);
  if (notice.createdAdminToken) {
    writeLine(io.stdout, '');
    writeLine(io.stdout, '  Bootstrap admin token (shown once, stored only as a hash). To use the CLI, run in your shell:');
    writeLine(io.stdout, '');
    writeLine(io.stdout, `    export KEYWARDEN_URL=${url}`);
    writeLine(io.stdout, `    export ${ADMIN_TOKEN_ENV}=${notice.createdAdminToken}`);
    writeLine(io.stdout, '');
  }
  if (notice.setupLink) {
    writeLine(io.stdout, '');
    writeLine(io.stdout, '  Create the first console owner with this one-time link (valid 15 minutes, single use):');
    writeLine(io.stdout, `    ${notice.setupLink}`);
    writeLine(io.stdout, '');
  }
  if (notice.importedOpenAIKey) {
    writeLine(io.stdout, `  Imported ${OPENAI_KEY_ENV} (${notice.importedOpenAIKey}) into the vault as the default upstream.`);
    writeLine(io.stdout, `  Remove ${OPENAI_KEY_ENV} from this environment: apps should use virtual keys.`);
  }
}
