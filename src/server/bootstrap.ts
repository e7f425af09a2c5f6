import type { KeywardenConfig } from '../config/index.js';
import { AdminTokenService } from '../admin/admin-tokens.js';
import { UpstreamService } from '../admin/upstream-service.js';
import { KeyService } from '../admin/key-service.js';
import type { Logger } from '../log/logger.js';
import type { AuditLog } from '../audit/index.js';
import { openAnchoredAuditLog } from './anchored-audit.js';
import { SqliteStore } from '../store/index.js';
import { Vault } from '../vault/index.js';
import { maskSecret } from '../keys/index.js';
import { createOutboundPolicy, type OutboundPolicy } from '../policy/outbound-url.js';
import { claimDataDir } from '../datadir/open-data-dir.js';
import { assertStrongAdminToken } from '../admin/admin-token-strength.js';
import type { DataDirLock } from '../datadir/data-dir-lock.js';

export const ADMIN_TOKEN_ENV = 'KEYWARDEN_ADMIN_TOKEN';
export const OPENAI_KEY_ENV = 'OPENAI_API_KEY';

export interface Services {
  store: SqliteStore;
  audit: AuditLog;
  vault: Vault;
  keys: KeyService;
  upstreams: UpstreamService;
  adminTokens: AdminTokenService;
  /** This process's claim on the data directory; released on close. */
  dataDirLock: DataDirLock;
}

export interface BootstrapNotice {
  /** The bootstrap admin token, set only on the start that created it (after listening): the caller prints it once. */
  createdAdminToken: string | null;
  createdMasterKeyFile: boolean;
  importedOpenAIKey: string | null;
  /** One-time link to create the first console owner, set on a start with no console user (printed once). */
  setupLink?: string | null;
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
  outbound?: OutboundPolicy,
): Promise<{ services: Services; notice: BootstrapNotice }> {
  // Before anything is opened or stored: a weak operator-supplied token is refused, never registered.
  const fromEnv = env[ADMIN_TOKEN_ENV];
  if (fromEnv !== undefined && fromEnv !== '') assertStrongAdminToken(fromEnv, ADMIN_TOKEN_ENV);
  const dataDirLock = claimDataDir(config.dataDir, 'keywarden serve', logger);
  let store: SqliteStore | null = null;
  try {
    store = SqliteStore.open(config.dataDir);
    const result = await bootstrapServices(config, env, now, onUpstreamChange, logger, store, dataDirLock, outbound);
    dataDirLock.recheck();
    return result;
  } catch (err) {
    await store?.close();
    dataDirLock.release();
    throw err;
  }
}

async function bootstrapServices(
  config: KeywardenConfig,
  env: NodeJS.ProcessEnv,
  now: () => number,
  onUpstreamChange: () => Promise<void>,
  logger: Logger,
  store: SqliteStore,
  dataDirLock: DataDirLock,
  outbound: OutboundPolicy | undefined,
): Promise<{ services: Services; notice: BootstrapNotice }> {
  const { vault, createdMasterKeyFile } = await Vault.open({ dataDir: config.dataDir, env, meta: store.meta });
  const audit = await openAnchoredAuditLog(store, config.dataDir, vault, now);
  const adminTokens = new AdminTokenService(store, vault.pepper, now, audit);
  const keys = new KeyService(store, vault.pepper, now, audit);
  const upstreams = new UpstreamService(store, vault, now, onUpstreamChange, audit, outbound ?? createOutboundPolicy(config.outbound));

  const fromEnv = env[ADMIN_TOKEN_ENV];
  if (fromEnv) await adminTokens.ensure('env', fromEnv);

  let importedOpenAIKey: string | null = null;
  const openaiKey = env[OPENAI_KEY_ENV];
  if (openaiKey && (await store.upstreams.list()).length === 0) {
    await upstreams.add({ name: 'openai', provider: 'openai', keys: [openaiKey], default: true }, 'system:bootstrap');
    importedOpenAIKey = maskSecret(openaiKey);
    logger.info('imported OPENAI_API_KEY into the vault as the default upstream', { key: importedOpenAIKey });
  }
  return { services: { store, audit, vault, keys, upstreams, adminTokens, dataDirLock }, notice: { createdAdminToken: null, createdMasterKeyFile, importedOpenAIKey } };
}

/**
 * Issues the bootstrap admin token when no admin token exists yet. Called only once the server is listening: the
 * token is shown once, so a start that fails (port in use, bad host) must not store one that nobody ever saw.
 */
export async function issueBootstrapAdminToken(adminTokens: AdminTokenService, env: NodeJS.ProcessEnv): Promise<string | null> {
  if (env[ADMIN_TOKEN_ENV] || (await adminTokens.count()) > 0) return null;
  return (await adminTokens.issue('bootstrap', 'system:bootstrap')).token;
}
