import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-keywarden-signature';
export const TIMESTAMP_HEADER = 'x-keywarden-timestamp';
/** Receivers should reject deliveries whose timestamp is further than this from their clock (replay window). */
export const DEFAULT_TOLERANCE_MS = 5 * 60_000;

/** HMAC-SHA256 over `${timestamp}.${body}`, hex. The timestamp is Unix seconds, as sent in the timestamp header. */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

export function signatureHeader(secret: string, timestamp: number, body: string): string {
  return `v1=${signWebhook(secret, timestamp, body)}`;
}

export interface VerifyWebhookInput {
  /** One secret, or several while rotating. */
  secret: string | readonly string[];
  /** The raw request body, exactly as received. */
  body: string | Buffer;
  timestamp: string | null | undefined;
  signature: string | null | undefined;
  /** Receiver's clock, ms. */
  now?: number;
  toleranceMs?: number;
}

export type VerifyWebhookResult = { ok: true } | { ok: false; reason: 'missing' | 'malformed' | 'expired' | 'mismatch' };

/**
 * For receivers: checks the signature in constant time, and that the timestamp is recent, so a captured delivery
 * cannot be replayed later. The signature header may carry several `v1=` values (comma-separated).
 */
export function verifyWebhookSignature(input: VerifyWebhookInput): VerifyWebhookResult {
  if (!input.timestamp || !input.signature) return { ok: false, reason: 'missing' };
  if (!/^\d{1,12}$/.test(input.timestamp)) return { ok: false, reason: 'malformed' };
  const timestamp = Number(input.timestamp);
  const now = input.now ?? Date.now();
  if (Math.abs(now - timestamp * 1000) > (input.toleranceMs ?? DEFAULT_TOLERANCE_MS)) return { ok: false, reason: 'expired' };
  const candidates = input.signature
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.startsWith('v1='))
    .map((part) => Buffer.from(part.slice(3), 'hex'))
    .filter((sig) => sig.length === 32);
  if (candidates.length === 0) return { ok: false, reason: 'malformed' };
  const body = typeof input.body === 'string' ? input.body : input.body.toString('utf8');
  const secrets = typeof input.secret === 'string' ? [input.secret] : input.secret;
  for (const secret of secrets) {
    const expected = Buffer.from(signWebhook(secret, timestamp, body), 'hex');
    if (candidates.some((sig) => timingSafeEqual(sig, expected))) return { ok: true };
  }
  return { ok: false, reason: 'mismatch' };
}
