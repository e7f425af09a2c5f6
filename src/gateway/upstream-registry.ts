import type { Dispatcher } from 'undici';
import { KeywardenError } from '../errors/index.js';
import { guardedConnect, type OutboundLookup } from '../policy/outbound-connect.js';
import type { OutboundPolicy } from '../policy/outbound-url.js';
import type { UpstreamRecord, UpstreamRepository } from '../store/index.js';
import type { Vault } from '../vault/index.js';
import { createScrubber } from './scrub.js';
import { createUpstreamDispatcher } from './upstream-dispatcher.js';
import { KeyRing, type KeySlot } from './upstream-key-ring.js';

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
  /** The same, as a slot whose in-flight count the caller keeps while the request runs (see drain). */
  nextSlot(): KeySlot;
}

/** The runtime of a usable upstream; its keys can be swapped in place (rotation) without touching its pool. */
class LiveUpstream implements UpstreamRuntime {
  scrub: ReturnType<typeof createScrubber>;
  private ring: KeyRing;

  constructor(
    public record: UpstreamRecord,
    readonly origin: string,
    readonly basePath: string,
    readonly pool: Dispatcher,
    slots: readonly KeySlot[],
  ) {
    this.ring = new KeyRing(slots);
    this.scrub = createScrubber(slots.map((slot) => slot.secret));
  }

  nextKey(): string {
    return this.nextSlot().secret;
  }

  nextSlot(): KeySlot {
    const slot = this.ring.next();
    if (!slot) throw new KeywardenError('KW_NO_UPSTREAM', { message: 'The upstream has no keys.' });
    return slot;
  }

  /** New keys for new requests; requests in flight keep the slot they hold, and every key stays scrubbed. */
  setKeys(record: UpstreamRecord, slots: readonly KeySlot[]): void {
    this.record = record;
    this.scrub = createScrubber(slots.map((slot) => slot.secret));
    this.ring = new KeyRing(slots);
  }
}

/** Polling interval while waiting for a retiring key's requests to end: an admin operation, not a hot path. */
const DRAIN_POLL_MS = 10;

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
  private runtimes = new Map<string, LiveUpstream | UnusableUpstream>();
  /** Decrypted keys by upstream and key id; kept across reloads so in-flight counts survive them. */
  private slots = new Map<string, KeySlot>();
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
    return this.runtimeOf(upstreamId);
  }

  /** resolve without a promise once the upstreams are loaded (every request after the first few). */
  resolveNow(upstreamId: string | null): UpstreamRuntime | Promise<UpstreamRuntime> {
    return this.defaultId === undefined ? this.resolve(upstreamId) : this.runtimeOf(upstreamId);
  }

  private runtimeOf(upstreamId: string | null): UpstreamRuntime {
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
    const runtimes = new Map<string, LiveUpstream | UnusableUpstream>();
    // Each record is built on its own: one bad record (a URL the policy refuses, a key the vault cannot open) must
    // fail only the requests routed to it, never the whole registry.
    for (const record of records) runtimes.set(record.id, this.buildIsolated(record));
    this.runtimes = runtimes;
    // A single upstream is the default without being named; otherwise the one marked default.
    const marked = records.find((r) => r.isDefault);
    this.defaultId = records.length === 1 ? (records[0]?.id ?? null) : (marked?.id ?? null);
  }

  /**
   * Applies a change to an upstream's keys (add, retire, remove) in place: the pool and the requests on it are
   * untouched, so a rotation fails no request. Takes effect for the very next key choice.
   */
  applyKeys(record: UpstreamRecord): void {
    if (this.defaultId === undefined) return; // nothing loaded yet: the first load reads the store
    const current = this.runtimes.get(record.id);
    if (current instanceof LiveUpstream && current.record.baseUrl === record.baseUrl) {
      try {
        current.setKeys(record, this.slotsOf(record));
        return;
      } catch {
        // falls through: rebuilt as unusable below, reported like any bad record
      }
    }
    const previous = current instanceof LiveUpstream ? current.pool : null;
    this.runtimes.set(record.id, this.buildIsolated(record));
    previous?.close().catch(() => undefined);
  }

  /**
   * Waits until no request holds any of `keyIds` of `upstreamId`, or `timeoutMs` passed. Returns how many
   * requests still hold one (0: drained).
   */
  async drain(upstreamId: string, keyIds: readonly string[], timeoutMs: number): Promise<number> {
    const watched = keyIds.flatMap((keyId) => {
      const slot = this.slots.get(slotKey(upstreamId, keyId));
      return slot ? [slot] : [];
    });
    const inFlight = (): number => watched.reduce((sum, slot) => sum + slot.inFlight, 0);
    const deadline = Date.now() + timeoutMs;
    while (inFlight() > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
    }
    return inFlight();
  }

  /** The record's keys as slots: existing slots are reused (same secret, live count), new keys decrypted. */
  private slotsOf(record: UpstreamRecord): KeySlot[] {
    const slots = record.keys.map((key) => {
      const id = slotKey(record.id, key.id);
      let slot = this.slots.get(id);
      if (!slot) {
        slot = { id: key.id, secret: this.vault.decrypt(key.ciphertext, upstreamKeyAad(record.id, key.id)), inFlight: 0, retiring: false };
        this.slots.set(id, slot);
      }
      slot.retiring = key.retiring === true;
      return slot;
    });
    // Keys no longer in the record are forgotten once no request holds them.
    const prefix = `${record.id}\u0000`;
    const kept = new Set(slots);
    for (const [id, slot] of this.slots) if (id.startsWith(prefix) && !kept.has(slot) && slot.inFlight === 0) this.slots.delete(id);
    return slots;
  }

  private buildIsolated(record: UpstreamRecord): LiveUpstream | UnusableUpstream {
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

  private build(record: UpstreamRecord, url: URL): LiveUpstream {
    const slots = this.slotsOf(record);
    const pool = createUpstreamDispatcher(
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
    );
    return new LiveUpstream(record, url.origin, url.pathname.replace(/\/+$/, ''), pool, slots);
  }
}

function slotKey(upstreamId: string, keyId: string): string {
  return `${upstreamId}\u0000${keyId}`;
}
