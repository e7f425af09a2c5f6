import { randomInt } from 'node:crypto';
import { pepperedHash } from './secret-token.js';

export const RECOVERY_CODE_COUNT = 10;
/** No 0/O/1/I/L: codes are read off paper. 10 characters of 31 symbols ≈ 49.5 bits, and the store holds only HMACs. */
const ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';

/** `XXXXX-XXXXX`. */
export function generateRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const chars = Array.from({ length: 10 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
    return `${chars.slice(0, 5)}-${chars.slice(5)}`;
  });
}

/** Case, spaces and dashes do not matter when a code is typed back. */
export function normalizeRecoveryCode(code: string): string {
  return code.toUpperCase().replace(/[\s-]/g, '');
}

export function hashRecoveryCode(pepper: Buffer, code: string): string {
  return pepperedHash(pepper, 'recovery', normalizeRecoveryCode(code));
}
