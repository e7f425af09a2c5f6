import { createHmac, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { KeywardenError } from '../errors/index.js';

export const MASTER_KEY_FILE = 'master.key';
export const PENDING_MASTER_KEY_FILE = 'master.key.next';
export const MASTER_KEY_ENV = 'KEYWARDEN_MASTER_KEY';

/** Accepts 32 bytes as 64 hex characters or as base64/base64url. Anything else is refused, never stretched. */
export function decodeMasterKey(text: string): Buffer {
  const trimmed = text.trim();
  const bytes = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (bytes.length !== 32) {
    throw new KeywardenError('KW_VAULT', {
      message: `The master key must be 32 bytes, given as 64 hex characters or base64 (see ${MASTER_KEY_ENV}).`,
    });
  }
  return bytes;
}

export function generateMasterKey(): Buffer {
  return randomBytes(32);
}

/** A short public identifier of a master key, so a mismatch can be reported without revealing the key. */
export function masterKeyFingerprint(key: Buffer): string {
  return createHmac('sha256', key).update('keywarden/master-key-fingerprint').digest('hex').slice(0, 16);
}

export async function readKeyFile(file: string): Promise<Buffer | null> {
  if (!existsSync(file)) return null;
  return decodeMasterKey(await readFile(file, 'utf8'));
}

/** Writes a key file readable by its owner only, atomically (write to a temp name, then rename). */
export async function writeKeyFile(file: string, key: Buffer): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'w' });
  await chmod(temp, 0o600);
  await rename(temp, file);
}

export async function removeFileIfPresent(file: string): Promise<void> {
  try {
    await unlink(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
