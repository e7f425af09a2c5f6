import { hkdfSync, randomBytes } from 'node:crypto';
import { rename } from 'node:fs/promises';
import path from 'node:path';
import { KeywardenError } from '../errors/index.js';
import type { MetaRepository } from '../store/index.js';
import { open, seal } from './aes-gcm.js';
import {
  MASTER_KEY_ENV,
  MASTER_KEY_FILE,
  PENDING_MASTER_KEY_FILE,
  decodeMasterKey,
  generateMasterKey,
  masterKeyFingerprint,
  readKeyFile,
  removeFileIfPresent,
  writeKeyFile,
} from './master-key.js';

export const VAULT_DATA_KEY_META = 'vault.data_key';
const DATA_KEY_META = VAULT_DATA_KEY_META;
const DATA_KEY_AAD = 'keywarden/data-key';

interface WrappedDataKey {
  fingerprint: string;
  sealed: string;
}

export interface VaultOpenOptions {
  dataDir: string;
  env: NodeJS.ProcessEnv;
  meta: MetaRepository;
}

export interface VaultOpenResult {
  vault: Vault;
  /** True when this call created the master key file (first start). */
  createdMasterKeyFile: boolean;
}

/**
 * Envelope encryption for upstream provider keys. A random data key encrypts secrets; a master key (env var or a
 * 0600 file) wraps the data key. Rotating the master key re-wraps the data key only, so ciphertexts stay valid.
 * Plaintext secrets exist only in memory.
 */
export class Vault {
  /** Pepper for virtual-key and admin-token HMACs; derived from the data key so it survives master rotation. */
  readonly pepper: Buffer;
  /** Key for the audit chain's HMACs and anchors; derived from the data key under its own label. */
  readonly auditKey: Buffer;

  private constructor(private readonly dataKey: Buffer) {
    this.pepper = Buffer.from(hkdfSync('sha256', dataKey, Buffer.alloc(0), 'keywarden/token-pepper', 32));
    this.auditKey = Buffer.from(hkdfSync('sha256', dataKey, Buffer.alloc(0), 'keywarden/audit-anchor', 32));
  }

  encrypt(plaintext: string, aad: string): string {
    return seal(this.dataKey, Buffer.from(plaintext, 'utf8'), aad);
  }

  decrypt(sealed: string, aad: string): string {
    try {
      return open(this.dataKey, sealed, aad).toString('utf8');
    } catch (err) {
      throw new KeywardenError('KW_VAULT', { message: 'A vault secret could not be decrypted.', cause: err });
    }
  }

  static async open(options: VaultOpenOptions): Promise<VaultOpenResult> {
    const { master, createdMasterKeyFile } = await resolveMasterKey(options);
    const stored = await options.meta.get(DATA_KEY_META);
    if (stored === null) {
      const dataKey = randomBytes(32);
      await options.meta.set(DATA_KEY_META, JSON.stringify(wrap(master, dataKey)));
      return { vault: new Vault(dataKey), createdMasterKeyFile };
    }
    return { vault: new Vault(unwrap(master, JSON.parse(stored) as WrappedDataKey)), createdMasterKeyFile };
  }

  /**
   * Re-wraps the data key under a new master key. Crash-safe order: the new key file is written beside the old
   * one first, then the wrapped data key is replaced, then the new file takes the old name. resolveMasterKey
   * finishes an interrupted rotation on the next open.
   */
  static async rotateMaster(options: VaultOpenOptions & { newMasterKey?: Buffer }): Promise<{ fingerprint: string }> {
    const { master } = await resolveMasterKey(options);
    const stored = await options.meta.get(DATA_KEY_META);
    if (stored === null) throw new KeywardenError('KW_VAULT', { message: 'The vault has not been initialised yet.' });
    const dataKey = unwrap(master, JSON.parse(stored) as WrappedDataKey);
    const usesEnv = Boolean(options.env[MASTER_KEY_ENV]);
    if (usesEnv && !options.newMasterKey) {
      throw new KeywardenError('KW_USAGE', {
        message: `The master key comes from ${MASTER_KEY_ENV}; pass the new key with --new-key-env VAR.`,
      });
    }
    const next = options.newMasterKey ?? generateMasterKey();
    const pending = path.join(options.dataDir, PENDING_MASTER_KEY_FILE);
    if (!usesEnv) await writeKeyFile(pending, next);
    await options.meta.set(DATA_KEY_META, JSON.stringify(wrap(next, dataKey)));
    if (!usesEnv) await rename(pending, path.join(options.dataDir, MASTER_KEY_FILE));
    return { fingerprint: masterKeyFingerprint(next) };
  }
}

function wrap(master: Buffer, dataKey: Buffer): WrappedDataKey {
  return { fingerprint: masterKeyFingerprint(master), sealed: seal(master, dataKey, DATA_KEY_AAD) };
}

function unwrap(master: Buffer, wrapped: WrappedDataKey): Buffer {
  if (wrapped.fingerprint !== masterKeyFingerprint(master)) {
    throw new KeywardenError('KW_VAULT', {
      message: `The master key does not match this vault (expected fingerprint ${wrapped.fingerprint}).`,
    });
  }
  return open(master, wrapped.sealed, DATA_KEY_AAD);
}

async function resolveMasterKey(
  options: VaultOpenOptions,
): Promise<{ master: Buffer; createdMasterKeyFile: boolean }> {
  const fromEnv = options.env[MASTER_KEY_ENV];
  if (fromEnv) return { master: decodeMasterKey(fromEnv), createdMasterKeyFile: false };

  const file = path.join(options.dataDir, MASTER_KEY_FILE);
  const pendingFile = path.join(options.dataDir, PENDING_MASTER_KEY_FILE);
  const current = await readKeyFile(file);
  const pending = await readKeyFile(pendingFile);
  if (pending) {
    // An interrupted rotation: whichever key the stored data key is wrapped under wins.
    const stored = await options.meta.get(DATA_KEY_META);
    const wanted = stored === null ? null : (JSON.parse(stored) as WrappedDataKey).fingerprint;
    if (wanted === masterKeyFingerprint(pending)) {
      await rename(pendingFile, file);
      return { master: pending, createdMasterKeyFile: false };
    }
    await removeFileIfPresent(pendingFile);
  }
  if (current) return { master: current, createdMasterKeyFile: false };
  if ((await options.meta.get(DATA_KEY_META)) !== null) {
    throw new KeywardenError('KW_VAULT', {
      message: `The vault exists but its master key is missing: restore ${file} or set ${MASTER_KEY_ENV}.`,
    });
  }
  const created = generateMasterKey();
  await writeKeyFile(file, created);
  return { master: created, createdMasterKeyFile: true };
}
