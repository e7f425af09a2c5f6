import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { KeywardenError } from '../errors/index.js';

/**
 * OWASP's minimum for scrypt: N=2^17, r=8, p=1. One hash needs 128 * N * r = 128 MiB, so `maxmem` is raised above
 * Node's 32 MiB default. Hashing runs on libuv's thread pool (async scrypt), never on the event loop.
 */
export const SCRYPT_PARAMS = { N: 2 ** 17, r: 8, p: 1, keyLength: 64, saltLength: 16 } as const;
const MAXMEM = 256 * 1024 * 1024;

/** At most this many hashes run at once: each holds 128 MiB, and a burst of sign-ins must not exhaust memory. */
const MAX_CONCURRENT = 2;
let running = 0;
const waiting: Array<() => void> = [];

async function withSlot<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= MAX_CONCURRENT) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await fn();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

function derive(password: string, salt: Buffer, params: { N: number; r: number; p: number; keyLength: number }): Promise<Buffer> {
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: MAXMEM };
  return withSlot(
    () =>
      new Promise<Buffer>((resolve, reject) => {
        scrypt(password.normalize('NFC'), salt, params.keyLength, options, (err, key) => (err ? reject(err) : resolve(key)));
      }),
  );
}

/** `scrypt$N$r$p$salt$hash` (base64url): the parameters travel with the hash, so they can be raised later. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SCRYPT_PARAMS.saltLength);
  const key = await derive(password, salt, SCRYPT_PARAMS);
  return ['scrypt', SCRYPT_PARAMS.N, SCRYPT_PARAMS.r, SCRYPT_PARAMS.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** A well-formed hash of nothing anyone knows: unknown users are checked against it, so they cost the same time. */
let dummyHash: Promise<string> | null = null;
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword(randomBytes(32).toString('base64url'));
  return dummyHash;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  // Only parameters at least as strong as the minimum are honoured: a tampered row cannot make checks cheap.
  if (!(N >= SCRYPT_PARAMS.N && r >= SCRYPT_PARAMS.r && p >= 1 && N <= 2 ** 20 && r <= 16 && p <= 4)) return false;
  const salt = Buffer.from(parts[4] as string, 'base64url');
  const expected = Buffer.from(parts[5] as string, 'base64url');
  if (expected.length !== SCRYPT_PARAMS.keyLength) return false;
  const actual = await derive(password, salt, { N, r, p, keyLength: expected.length });
  return timingSafeEqual(actual, expected);
}

export const MIN_PASSWORD_LENGTH = 12;
/** Longer inputs are refused before hashing: scrypt's cost does not depend on it, but nothing needs more. */
export const MAX_PASSWORD_LENGTH = 1024;

/** The password policy: at least 12 characters, at most 1024, and not the user name (in any case). */
export function assertPasswordPolicy(password: string, userName: string): void {
  const length = [...password.normalize('NFC')].length;
  if (length < MIN_PASSWORD_LENGTH) {
    throw new KeywardenError('KW_VALIDATION', { message: `The password must be at least ${MIN_PASSWORD_LENGTH} characters long.`, param: 'password' });
  }
  if (length > MAX_PASSWORD_LENGTH) {
    throw new KeywardenError('KW_VALIDATION', { message: `The password must be at most ${MAX_PASSWORD_LENGTH} characters long.`, param: 'password' });
  }
  const lowered = password.trim().toLowerCase();
  if (lowered === userName.trim().toLowerCase()) {
    throw new KeywardenError('KW_VALIDATION', { message: 'The password must not be the user name.', param: 'password' });
  }
}
