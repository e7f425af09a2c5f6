import { createHmac, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { encodeBase62, isBase62, randomBase62 } from './base62.js';

/**
 * Virtual key format: `kw_` + 32 random base62 characters (~190 bits) + a 6-character base62 CRC32 of the random
 * part. As with GitHub's `ghp_` tokens, the checksum lets the gateway and the scanner reject a made-up or mistyped
 * key without touching the database.
 */
export const VIRTUAL_KEY_PREFIX = 'kw_';
export const VIRTUAL_KEY_BODY_LENGTH = 32;
export const VIRTUAL_KEY_CHECKSUM_LENGTH = 6;
export const VIRTUAL_KEY_LENGTH = VIRTUAL_KEY_PREFIX.length + VIRTUAL_KEY_BODY_LENGTH + VIRTUAL_KEY_CHECKSUM_LENGTH;
/** Matches a candidate virtual key in free text (used by the scanner). */
export const VIRTUAL_KEY_PATTERN = /\bkw_[0-9A-Za-z]{38}\b/g;

export const KEY_ID_PREFIX = 'key_';

function checksumOf(body: string): string {
  return encodeBase62(crc32(body), VIRTUAL_KEY_CHECKSUM_LENGTH);
}

export function generateVirtualKey(): string {
  const body = randomBase62(VIRTUAL_KEY_BODY_LENGTH);
  return `${VIRTUAL_KEY_PREFIX}${body}${checksumOf(body)}`;
}

/** True when `candidate` has the virtual key shape and its checksum matches. Pure and cheap. */
export function hasValidChecksum(candidate: string): boolean {
  if (candidate.length !== VIRTUAL_KEY_LENGTH || !candidate.startsWith(VIRTUAL_KEY_PREFIX)) return false;
  const rest = candidate.slice(VIRTUAL_KEY_PREFIX.length);
  if (!isBase62(rest)) return false;
  const body = rest.slice(0, VIRTUAL_KEY_BODY_LENGTH);
  return rest.slice(VIRTUAL_KEY_BODY_LENGTH) === checksumOf(body);
}

/**
 * The only form in which a virtual key is stored: HMAC-SHA256 under a server-side pepper. A database dump alone
 * cannot be used to brute-force or replay keys.
 */
export function hashVirtualKey(key: string, pepper: Buffer): string {
  return createHmac('sha256', pepper).update(key).digest('hex');
}

export function hashesEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}

export function generateKeyId(): string {
  return `${KEY_ID_PREFIX}${randomBase62(16)}`;
}
