import type { Dispatcher } from 'undici';
import { KeywardenError } from '../errors/index.js';
import { guardedConnect, type OutboundLookup } from '../policy/outbound-connect.js';
import type { OutboundPolicy } from '../policy/outbound-url.js';
import type { UpstreamRecord, UpstreamRepository } from '../store/index.js';
import type { Vault } from '../vault/index.js';
import { createScrubber } from './scrub.js';
import { createUpstreamDispatcher } from './upstream-dispatcher.js';

export interface UpstreamRuntime {
  readonly record: UpstreamRecord;
  readonly origin: string;
  /** Path prefix of the base URL, e.g. `/v1` for https://api.openai.com/v1. */
  readonly basePath: string;
  /** A keep-alive Pool for the origin, or a proxy agent when HTTPS_PROXY / HTTP_PROXY applies to it. */
  readonly pool: Dispatcher;
  readonly scrub: ReturnType<typeof createScrubber>;
  /** Next key to use; round-robin spreads load across the upstream's keys. */
  nextKey(): string;
}

export interface UpstreamRegistryOptions {
  connections: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  /** Where upstreams may point; applied when a record is loaded and again when each connection is opened. */
  outbound: OutboundPolicy;
  /** Resolver override for the connect-time check (tests). */
  lookup?: OutboundLookup;
  /** Told once per load about each record that cannot be used (operator log line). */
  onUnusable?: (record: UpstreamRecord, reason: string) => void;
  /** Where HTTPS_PROXY / HTTP_PROXY / NO_PROXY are read; the process environment by default. */
  env?: NodeJS.ProcessEnv;
}

/** A stored upstream that cannot be used (bad URL, undecryptable key): only requests routed to it fail. */
class UnusableUpstream {
  constructor(readonly reason: string) {}
}

export function upstreamKeyAad(upstreamId: string, keyId: string): string {
  return `upstream:${upstreamId}:key:${keyId}`;
}

/**
 * Keeps one keep-alive connection pool and the decrypted keys per upstream. Keys are decrypted once, when an
 * upstream is first used after a change, and live only in memory.
 */
export class UpstreamRegistry {
  private runtimes = new Map<string, UpstreamRuntime | UnusableUpstream>();
  private defaultId: string | null | undefined;
  private loading: Promise<void> | null = null;

  constructor(
    private readonly repo: UpstreamRepository,
    private readonly vault: Vault,
    private readonly options: UpstreamRegistryOptions,
  ) {}

  /** Drops cached runtimes so the next request sees added, removed or re-keyed upstreams. */
  async invalidate(): Promise<void> {
    const old = [...this.runtimes.values()];
    this.runtimes = new Map();
    this.defaultId = undefined;
    this.loading = null;
    const pools = old.flatMap((runtime) => (runtime instanceof UnusableUpstream ? [] : [runtime.pool]));
    await Promise.all(pools.map((pool) => pool.close().catch(() => undefined)));
  }

  async resolve(upstreamId: string | null): Promise<UpstreamRuntime> {
    if (this.defaultId === undefined) {
      // A failed load is not cached: the next request tries again instead of failing forever.
      this.loading ??= this.load().catch((err: unknown) => {
        this.loading = null;
        throw err;
      });
      await this.loading;
    }
    const id = upstreamId ?? this.defaultId;
    const runtime = id ? this.runtimes.get(id) : undefined;
    if (!runtime) throw new KeywardenError('KW_NO_UPSTREAM');
    if (runtime instanceof UnusableUpstream) {
      throw new KeywardenError('KW_UPSTREAM_MISCONFIGURED');
    }
    return runtime;
  }

  async close(): Promise<void> {
    await this.invalidate();
  }

  private async load(): Promise<void> {
    const records = await this.repo.list();
    const runtimes = new Map<string, UpstreamRuntime | UnusableUpstream>();
    // Each record is built on its own: one bad record (a URL the policy refuses, a key the vault cannot open) must
    // fail only the requests routed to it, never the whole registry.
    for (const record of records) runtimes.set(record.id, this.buildIsolated(record));
    this.runtimes = runtimes;
    // A single upstream is the default without being named; otherwise the one marked default.
    const marked = records.find((r) => r.isDefault);
    this.defaultId = records.length === 1 ? (records[0]?.id ?? null) : (marked?.id ?? null);
  }

  private buildIsolated(record: UpstreamRecord): UpstreamRuntime | UnusableUpstream {
    let unusable: UnusableUpstream;
    try {
      const verdict = this.options.outbound.checkUrl(record.baseUrl);
      if (verdict.ok) return this.build(record, verdict.url);
      unusable = new UnusableUpstream(`base URL refused: ${verdict.reason}`);
    } catch {
      // The vault's error text is not needed to act: the record's keys cannot be decrypted.
      unusable = new UnusableUpstream('its keys cannot be decrypted with this vault');
    }
    this.options.onUnusable?.(record, unusable.reason);
    return unusable;
  }

  private build(record: UpstreamRecord, url: URL): UpstreamRuntime {
    const secrets = record.keys.map((key) => this.vault.decrypt(key.ciphertext, upstreamKeyAad(record.id, key.id)));
    let cursor = 0;
    return {
      record,
      origin: url.origin,
      basePath: url.pathname.replace(/\/+$/, ''),
      pool: createUpstreamDispatcher(
        url.origin,
        {
          connections: this.options.connections,
          headersTimeout: this.options.headersTimeoutMs,
          bodyTimeout: this.options.bodyTimeoutMs,
          keepAliveTimeout: 30_000,
          pipelining: 1,
          connect: guardedConnect(this.options.outbound, this.options.lookup ? { lookup: this.options.lookup } : {}),
        },
        this.options.env ?? process.env,
      ),
      scrub: createScrubber(secrets),
      nextKey() {
        if (secrets.length === 0) throw new KeywardenError('KW_NO_UPSTREAM', { message: 'The upstream has no keys.' });
        const key = secrets[cursor % secrets.length] as string;
        cursor = (cursor + 1) % secrets.length;
        return key;
      },
    };
  }
}
