import { crc32 } from 'node:zlib';
import { encodeBase62, isBase62, randomBase62 } from './base62.js';

/**
 * Admin token format: `kwadm_` + 40 random base62 characters (~238 bits) + a 6-character base62 CRC32 of the
 * random part, like virtual keys: the scanner can tell a real token from a look-alike without a database.
 */
export const ADMIN_TOKEN_PREFIX = 'kwadm_';
export const ADMIN_TOKEN_BODY_LENGTH = 40;
export const ADMIN_TOKEN_CHECKSUM_LENGTH = 6;
export const ADMIN_TOKEN_LENGTH = ADMIN_TOKEN_PREFIX.length + ADMIN_TOKEN_BODY_LENGTH + ADMIN_TOKEN_CHECKSUM_LENGTH;
/** Matches a candidate admin token in free text (used by the scanner). */
export const ADMIN_TOKEN_PATTERN = /\bkwadm_[0-9A-Za-z]{46}\b/g;

const checksumOf = (body: string): string => encodeBase62(crc32(body), ADMIN_TOKEN_CHECKSUM_LENGTH);

export function generateAdminTokenSecret(): string {
  const body = randomBase62(ADMIN_TOKEN_BODY_LENGTH);
  return `${ADMIN_TOKEN_PREFIX}${body}${checksumOf(body)}`;
}

/** True when `candidate` has the generated admin-token shape and its checksum matches. */
export function isChecksummedAdminToken(candidate: string): boolean {
  if (candidate.length !== ADMIN_TOKEN_LENGTH || !candidate.startsWith(ADMIN_TOKEN_PREFIX)) return false;
  const rest = candidate.slice(ADMIN_TOKEN_PREFIX.length);
  if (!isBase62(rest)) return false;
  return rest.slice(ADMIN_TOKEN_BODY_LENGTH) === checksumOf(rest.slice(0, ADMIN_TOKEN_BODY_LENGTH));
}
