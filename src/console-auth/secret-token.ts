import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** 32 random bytes, base64url: session ids, setup tokens, CSRF tokens. */
export function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

/** What the store keeps for a session id or setup token: its SHA-256, never the value. */
export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** Recovery codes are low-entropy enough to hash under the server pepper, so a stolen database cannot test guesses. */
export function pepperedHash(pepper: Buffer, label: string, value: string): string {
  return createHmac('sha256', pepper).update(`${label}:${value}`).digest('hex');
}

/** Constant-time string comparison (different lengths compare unequal without an early exit on content). */
export function safeEqual(a: string, b: string): boolean {
  const left = createHash('sha256').update(a).digest();
  const right = createHash('sha256').update(b).digest();
  return timingSafeEqual(left, right) && a.length === b.length;
}
