import type { KeywardenConfig } from '../config/index.js';
import { AdminTokenService } from '../admin/admin-tokens.js';
import { UpstreamService } from '../admin/upstream-service.js';
import { KeyService } from '../admin/key-service.js';
import type { Logger } from '../log/logger.js';
import { AuditLog } from '../audit/index.js';
import { SqliteStore } from '../store/index.js';
import { SqliteAuditRepository } from '../store/sqlite/audit-repo.js';
import { Vault } from '../vault/index.js';
import { maskSecret } from '../keys/index.js';

export const ADMIN_TOKEN_ENV = 'KEYWARDEN_ADMIN_TOKEN';
export const OPENAI_KEY_ENV = 'OPENAI_API_KEY';

export interface Services {
  store: SqliteStore;
  audit: AuditLog;
  vault: Vault;
  keys: KeyService;
  upstreams: UpstreamService;
  adminTokens: AdminTokenService;
}

export interface BootstrapNotice {
  /** The bootstrap admin token, set only on the start that created it (after listening): the caller prints it once. */
  createdAdminToken: string | null;
  createdMasterKeyFile: boolean;
  importedOpenAIKey: string | null;
}

/**
 * Opens the store and vault, and performs first-start duties: the bootstrap admin token (or the operator's
 * KEYWARDEN_ADMIN_TOKEN), and importing OPENAI_API_KEY as the default upstream when there is none yet.
 */
export async function bootstrap(
  config: KeywardenConfig,
  env: NodeJS.ProcessEnv,
  now: () => number,
  onUpstreamChange: () => Promise<void>,
  logger: Logger,
): Promise<{ services: Services; notice: BootstrapNotice }> {
  const store = SqliteStore.open(config.dataDir);
  const { vault, createdMasterKeyFile } = await Vault.open({ dataDir: config.dataDir, env, meta: store.meta });
  const audit = new AuditLog(new SqliteAuditRepository(store.db), now);
  const adminTokens = new AdminTokenService(store, vault.pepper, now, audit);
  const keys = new KeyService(store, vault.pepper, now, audit);
  const upstreams = new UpstreamService(store, vault, now, onUpstreamChange, audit);

  const fromEnv = env[ADMIN_TOKEN_ENV];
  if (fromEnv) await adminTokens.ensure('env', fromEnv);

  let importedOpenAIKey: string | null = null;
  const openaiKey = env[OPENAI_KEY_ENV];
  if (openaiKey && (await store.upstreams.list()).length === 0) {
    await upstreams.add({ name: 'openai', provider: 'openai', keys: [openaiKey], default: true }, 'system:bootstrap');
    importedOpenAIKey = maskSecret(openaiKey);
    logger.info('imported OPENAI_API_KEY into the vault as the default upstream', { key: importedOpenAIKey });
  }
  return { services: { store, audit, vault, keys, upstreams, adminTokens }, notice: { createdAdminToken: null, createdMasterKeyFile, importedOpenAIKey } };
}

/**
 * Issues the bootstrap admin token when no admin token exists yet. Called only once the server is listening: the
 * token is shown once, so a start that fails (port in use, bad host) must not store one that nobody ever saw.
 */
export async function issueBootstrapAdminToken(adminTokens: AdminTokenService, env: NodeJS.ProcessEnv): Promise<string | null> {
  if (env[ADMIN_TOKEN_ENV] || (await adminTokens.count()) > 0) return null;
  return (await adminTokens.issue('bootstrap', 'system:bootstrap')).token;
}
