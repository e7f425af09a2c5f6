import { Agent } from 'undici';
import { z } from 'zod';
import { guardedConnect, type OutboundLookup } from '../../policy/outbound-connect.js';
import type { OutboundPolicy } from '../../policy/outbound-url.js';

/** GitHub's published secret-scanning keys: `{public_keys: [{key_identifier, key (PEM), is_current}]}`. */
const keysSchema = z.object({
  public_keys: z
    .array(z.object({ key_identifier: z.string().min(1).max(200), key: z.string().min(1).max(10_000) }))
    .max(100),
});

const MAX_BODY_BYTES = 256 * 1024;
/** However often unknown key ids arrive, the keys URL is fetched at most this often (no amplification). */
const MIN_REFETCH_MS = 10_000;

/**
 * Fetches and caches GitHub's secret-scanning public keys, by identifier. An unknown identifier triggers one
 * refetch (GitHub rotates keys), rate limited so forged identifiers cannot make keywarden hammer the keys URL.
 */
export class PartnerKeyCache {
  private keys = new Map<string, string>();
  private fetchedAt = -Infinity;
  private inflight: Promise<void> | null = null;
  private readonly agent: Agent;

  constructor(
    private readonly url: string,
    private readonly cacheMs: number,
    private readonly now: () => number,
    outbound: OutboundPolicy,
    lookup?: OutboundLookup,
  ) {
    this.agent = new Agent({ connect: guardedConnect(outbound, { timeout: 10_000, ...(lookup ? { lookup } : {}) }), headersTimeout: 10_000, bodyTimeout: 10_000 });
    const verdict = outbound.checkUrl(url);
    if (!verdict.ok) throw new Error(`providers.github.partnerKeysUrl is not allowed: ${verdict.reason}`);
  }

  /** The PEM for an identifier, or null when GitHub does not publish it. */
  async get(identifier: string): Promise<string | null> {
    const age = this.now() - this.fetchedAt;
    const known = this.keys.get(identifier);
    if (known !== undefined && age < this.cacheMs) return known;
    if (age >= MIN_REFETCH_MS) await this.refresh();
    return this.keys.get(identifier) ?? null;
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private refresh(): Promise<void> {
    this.inflight ??= this.fetchKeys().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  private async fetchKeys(): Promise<void> {
    this.fetchedAt = this.now();
    try {
      const target = new URL(this.url);
      const res = await this.agent.request({ origin: target.origin, path: `${target.pathname}${target.search}`, method: 'GET', headers: { accept: 'application/json', 'user-agent': 'keywarden' } });
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) throw new Error('keys answer too large');
        chunks.push(chunk);
      }
      if (res.statusCode !== 200) return;
      const parsed = keysSchema.safeParse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      if (!parsed.success) return;
      this.keys = new Map(parsed.data.public_keys.map((k) => [k.key_identifier, k.key]));
    } catch {
      // Keys unavailable: the previous ones stay; signatures under unknown ids keep failing (401).
    }
  }
}
