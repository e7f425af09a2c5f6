import type { Command } from 'commander';
import { loadConfig } from '../../config/index.js';
import { KeywardenError } from '../../errors/index.js';
import { SqliteStore } from '../../store/index.js';
import { Vault, decodeMasterKey } from '../../vault/index.js';
import { writeJson, writeLine, type CliIo } from '../io.js';

export function registerVault(program: Command, io: CliIo): void {
  const vault = program.command('vault').description('Manage the vault that encrypts upstream keys.');
  vault
    .command('rotate-master')
    .description('Re-wrap the vault data key under a new master key (upstream keys are not re-encrypted).')
    .option('--data <dir>', 'data directory (default ./.keywarden)')
    .option('--config <file>', 'config file (JSON or YAML)')
    .option('--new-key-env <var>', 'take the new master key from this env var (required when KEYWARDEN_MASTER_KEY is used)')
    .option('--json', 'print JSON')
    .action(async (flags: { data?: string; config?: string; newKeyEnv?: string; json?: boolean }) => {
      const config = await loadConfig({ file: flags.config, env: io.env, cwd: io.cwd, overrides: { dataDir: flags.data } });
      let newMasterKey: Buffer | undefined;
      if (flags.newKeyEnv !== undefined) {
        const value = io.env[flags.newKeyEnv];
        if (!value) throw new KeywardenError('KW_USAGE', { message: `Environment variable ${flags.newKeyEnv} is not set.` });
        newMasterKey = decodeMasterKey(value);
      }
      const store = SqliteStore.open(config.dataDir);
      try {
        const { fingerprint } = await Vault.rotateMaster({ dataDir: config.dataDir, env: io.env, meta: store.meta, newMasterKey });
        if (flags.json) {
          writeJson(io.stdout, { rotated: true, fingerprint });
          return;
        }
        writeLine(io.stdout, `Master key rotated; new fingerprint ${fingerprint}.`);
        if (newMasterKey) writeLine(io.stdout, `Set KEYWARDEN_MASTER_KEY to the new key (from ${flags.newKeyEnv}) before the next start.`);
      } finally {
        await store.close();
      }
    });
}
