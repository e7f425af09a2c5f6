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

export interface Identified {
  record: VirtualKeyRecord;
  hash: string;
}

/**
 * Identifies the key: checksum first (no database work for garbage or made-up keys), then the hash lookup.
 * Returns the record and the hash that matched, so `assertUsable` can tell the current secret from a rotated one.
 * Synchronous when the repository can answer at once (findByHashNow), so an ordinary request costs no promise here.
 */
export function identify(headers: IncomingHttpHeaders, keys: KeyRepository, hashes: KeyHashMemo): Identified | Promise<Identified> {
  const secret = presentedKey(headers);
  if (secret === null) throw new KeywardenError('KW_MISSING_API_KEY');
  // A remembered secret matched a key before, so its checksum is known to be valid.
  let hash = hashes.remembered(secret);
  if (hash === undefined) {
    if (!hasValidChecksum(secret)) throw new KeywardenError('KW_INVALID_API_KEY');
    hash = hashes.compute(secret);
  }
  // The lookup (and assertUsable after it) decides on every request; the memo only spares the HMAC.
  const now = keys.findByHashNow?.(hash);
  if (now !== undefined) return identified(secret, hash, now, hashes);
  const known = hash;
  return keys.findByHash(known).then((record) => identified(secret, known, record, hashes));
}

function identified(secret: string, hash: string, record: VirtualKeyRecord | null, hashes: KeyHashMemo): Identified {
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
