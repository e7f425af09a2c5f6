import type { AdminRole, Store } from '../store/index.js';
import { randomToken, sha256Hex } from './secret-token.js';

/** A setup link is short-lived and single-use; only the token's SHA-256 is stored. */
export const SETUP_LINK_TTL_MS = 15 * 60_000;

/**
 * `<base>/setup#token=…`: the token is in the fragment, which browsers never send to a server, so it stays out of
 * access logs and Referer headers on the way to the console.
 */
export async function issueSetupLink(store: Store, now: number, base: string, userId: string | null, role: AdminRole): Promise<{ url: string; expiresAt: number }> {
  const token = randomToken();
  const expiresAt = now + SETUP_LINK_TTL_MS;
  await store.authTokens.insertSetupToken({ hash: sha256Hex(token), userId, role, createdAt: now, expiresAt, usedAt: null });
  return { url: `${base.replace(/\/+$/, '')}/setup#token=${token}`, expiresAt };
}
