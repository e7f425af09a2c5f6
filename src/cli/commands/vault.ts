import type { Command } from 'commander';
import { loadConfig } from '../../config/index.js';
import { KeywardenError } from '../../errors/index.js';
import { openStore, type StoreBackend } from '../../store/open-store.js';
import { openAnchoredAuditLog } from '../../server/anchored-audit.js';
import { MASTER_KEY_ENV, VAULT_DATA_KEY_META, Vault, decodeMasterKey, masterKeyFingerprint } from '../../vault/index.js';
import { generateMasterKey } from '../../vault/master-key.js';
import { claimDataDir } from '../../datadir/open-data-dir.js';
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
      if (io.env[MASTER_KEY_ENV] && flags.newKeyEnv === undefined) {
        // A generated key would live only in this process: the operator must supply the new one.
        throw new KeywardenError('KW_USAGE', { message: `The master key comes from ${MASTER_KEY_ENV}; pass the new key with --new-key-env VAR.` });
      }
      let newMasterKey = generateMasterKey();
      if (flags.newKeyEnv !== undefined) {
        const value = io.env[flags.newKeyEnv];
        if (!value) throw new KeywardenError('KW_USAGE', { message: `Environment variable ${flags.newKeyEnv} is not set.` });
        newMasterKey = decodeMasterKey(value);
      }
      // Refused while a server (or another maintenance command) holds the data directory.
      const claim = claimDataDir(config.dataDir, 'keywarden vault rotate-master', null);
      let store: StoreBackend | null = null;
      try {
        store = await openStore(config);
        // Recorded before it happens: a rotation must never go ahead unrecorded (a failed one leaves an honest
        // entry whose fingerprint does not match the vault, which `audit verify` readers can see).
        if ((await store.meta.get(VAULT_DATA_KEY_META)) === null) {
          throw new KeywardenError('KW_VAULT', { message: 'The vault has not been initialised yet.' });
        }
        // Signed and anchored like every server-side entry, so `audit verify` does not report it as forged.
        const { vault: current } = await Vault.open({ dataDir: config.dataDir, env: io.env, meta: store.meta });
        const audit = await openAnchoredAuditLog(store, config.dataDir, current);
        await audit.append({
          actor: 'cli:local',
          action: 'vault.master_key_rotated',
          target: 'vault',
          after: { fingerprint: masterKeyFingerprint(newMasterKey) },
        });
        const { fingerprint } = await Vault.rotateMaster({ dataDir: config.dataDir, env: io.env, meta: store.meta, newMasterKey });
        if (flags.json) {
          writeJson(io.stdout, { rotated: true, fingerprint });
          return;
        }
        writeLine(io.stdout, `Master key rotated; new fingerprint ${fingerprint}.`);
        if (flags.newKeyEnv !== undefined) writeLine(io.stdout, `Set KEYWARDEN_MASTER_KEY to the new key (from ${flags.newKeyEnv}) before the next start.`);
      } finally {
        await store?.close();
        claim.release();
      }
    });
}
