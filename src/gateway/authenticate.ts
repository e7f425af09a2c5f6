import type { IncomingHttpHeaders } from 'node:http';
import { KeywardenError } from '../errors/index.js';
import { hasValidChecksum } from '../keys/index.js';
import type { KeyRepository, VirtualKeyRecord } from '../store/index.js';
import type { KeyHashMemo } from './key-hash-memo.js';

/** The presented secret: `Authorization: Bearer …`, or Azure-style `api-key` for clients built for Azure. */
export function presentedKey(headers: IncomingHttpHeaders): string | null {
  const auth = headers.authorization;
  if (auth !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    return match?.[1] ?? null;
  }
  const apiKey = headers['api-key'];
  return typeof apiKey === 'string' && apiKey.length > 0 ? apiKey.trim() : null;
}

/**
 * Identifies the key: checksum first (no database work for garbage or made-up keys), then the hash lookup.
 * Returns the record and the hash that matched, so `assertUsable` can tell the current secret from a rotated one.
 */
export async function identify(
  headers: IncomingHttpHeaders,
  keys: KeyRepository,
  hashes: KeyHashMemo,
): Promise<{ record: VirtualKeyRecord; hash: string }> {
  const secret = presentedKey(headers);
  if (secret === null) throw new KeywardenError('KW_MISSING_API_KEY');
  if (!hasValidChecksum(secret)) throw new KeywardenError('KW_INVALID_API_KEY');
  const hash = hashes.hashOf(secret);
  // The lookup (and assertUsable after it) decides on every request; the memo only spares the HMAC.
  const record = await keys.findByHash(hash);
  if (!record) throw new KeywardenError('KW_INVALID_API_KEY');
  hashes.remember(secret, hash);
  return { record, hash };
}

/**
 * The key's state decides. The order is deliberate: a stale rotated secret is simply invalid; then revoked beats
 * expired beats suspended, so the most final reason wins.
 */
export function assertUsable(record: VirtualKeyRecord, hash: string, now: number): void {
  if (record.hash !== hash) {
    // The previous secret of a rotated key: valid only within its grace period.
    if (record.previousHashExpiresAt === null || now >= record.previousHashExpiresAt) {
      throw new KeywardenError('KW_INVALID_API_KEY', { message: 'This API key was rotated and is no longer valid.' });
    }
  }
  if (record.revokedAt !== null && record.revokedAt <= now) throw new KeywardenError('KW_KEY_REVOKED');
  if (record.expiresAt !== null && record.expiresAt <= now) throw new KeywardenError('KW_KEY_EXPIRED');
  if (record.suspendedAt !== null) {
    throw new KeywardenError('KW_KEY_SUSPENDED', {
      message: `This API key is suspended${record.suspendedReason ? `: ${record.suspendedReason}` : ''}.`,
    });
  }
}
