import type { Dispatcher } from 'undici';
import { KeywardenError } from '../errors/index.js';
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
  /** Where HTTPS_PROXY / HTTP_PROXY / NO_PROXY are read; the process environment by default. */
  env?: NodeJS.ProcessEnv;
}

export function upstreamKeyAad(upstreamId: string, keyId: string): string {
  return `upstream:${upstreamId}:key:${keyId}`;
}

/**
 * Keeps one keep-alive connection pool and the decrypted keys per upstream. Keys are decrypted once, when an
 * upstream is first used after a change, and live only in memory.
 */
export class UpstreamRegistry {
  private runtimes = new Map<string, UpstreamRuntime>();
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
    await Promise.all(old.map((runtime) => runtime.pool.close().catch(() => undefined)));
  }

  async resolve(upstreamId: string | null): Promise<UpstreamRuntime> {
    if (this.defaultId === undefined) {
      this.loading ??= this.load();
      await this.loading;
    }
    const id = upstreamId ?? this.defaultId;
    const runtime = id ? this.runtimes.get(id) : undefined;
    if (!runtime) throw new KeywardenError('KW_NO_UPSTREAM');
    return runtime;
  }

  async close(): Promise<void> {
    await this.invalidate();
  }

  private async load(): Promise<void> {
    const records = await this.repo.list();
    const runtimes = new Map<string, UpstreamRuntime>();
    for (const record of records) runtimes.set(record.id, this.build(record));
    this.runtimes = runtimes;
    // A single upstream is the default without being named; otherwise the one marked default.
    const marked = records.find((r) => r.isDefault);
    this.defaultId = records.length === 1 ? (records[0]?.id ?? null) : (marked?.id ?? null);
  }

  private build(record: UpstreamRecord): UpstreamRuntime {
    const url = new URL(record.baseUrl);
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
