import { hashVirtualKey } from '../keys/index.js';

/** Presented secrets remembered at most; past this the memo starts over (a burst of many keys cannot grow it). */
export const KEY_HASH_MEMO_LIMIT = 4096;

/**
 * Remembers the HMAC of presented virtual keys, so a client that sends the same key on every request does not pay
 * for an HMAC-SHA256 each time (a few percent of the gateway's CPU per request).
 *
 * It holds the hash only, never a verdict: the key record is still looked up and checked on every request, so a
 * revoked, expired, suspended or rotated key is refused on its very next request as before. Only secrets that
 * matched a key are remembered (`remember` is called after the lookup succeeds), so made-up keys with a valid
 * checksum neither fill the memo nor evict real ones. The secrets live only in this process's memory, as they do
 * for the duration of every request anyway; they are never logged or stored.
 */
export class KeyHashMemo {
  private readonly hashes = new Map<string, string>();

  constructor(
    private readonly pepper: Buffer,
    private readonly limit = KEY_HASH_MEMO_LIMIT,
  ) {}

  /** The hash of a secret that identified a key before, or undefined. */
  remembered(secret: string): string | undefined {
    return this.hashes.get(secret);
  }

  /** Computes the hash (an HMAC), without remembering it. */
  compute(secret: string): string {
    return hashVirtualKey(secret, this.pepper);
  }

  /** Remembers a hash that identified a key. */
  remember(secret: string, hash: string): void {
    if (this.hashes.has(secret)) return;
    if (this.hashes.size >= this.limit) this.hashes.clear();
    this.hashes.set(secret, hash);
  }

  get size(): number {
    return this.hashes.size;
  }
}
