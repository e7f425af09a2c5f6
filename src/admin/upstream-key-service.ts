import { KeywardenError } from '../errors/index.js';
import { randomBase62 } from '../keys/index.js';
import { upstreamKeyAad } from '../gateway/upstream-registry.js';
import type { AuditLog } from '../audit/index.js';
import type { Store, UpstreamKeyRecord, UpstreamRecord } from '../store/index.js';
import type { Vault } from '../vault/index.js';

/** What the gateway offers key changes: swap keys in place (no pool reload) and wait for a key's requests to end. */
export interface UpstreamKeyLifecycle {
  applyKeys(record: UpstreamRecord): void;
  drain(upstreamId: string, keyIds: readonly string[], timeoutMs: number): Promise<number>;
}

export interface RotationOutcome {
  record: UpstreamRecord;
  addedKeyId: string;
  removedKeyIds: string[];
  /** Requests still holding an old key when the drain timeout ended (0: drained); they were not cut. */
  inFlightAtRemoval: number;
}

export const DEFAULT_DRAIN_TIMEOUT_MS = 300_000;

/** What a provider rotation records on the key it adds. */
export type NewKeyMeta = Pick<UpstreamKeyRecord, 'createdAt' | 'providerKeyId'>;

/**
 * Adds, removes and rotates an upstream's provider keys. Rotation, with zero failed requests:
 * 1. the new key is stored and every old key marked retiring, in one audited write;
 * 2. the gateway applies that in place: the very next request uses the new key, requests in flight keep theirs;
 * 3. it waits until no request holds an old key (or the drain timeout);
 * 4. the old keys are removed from the vault record (audited), and the gateway forgets them.
 * Only then may the operator revoke the old key at the provider. One change per upstream at a time.
 */
export class UpstreamKeyService {
  private registry: UpstreamKeyLifecycle | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly vault: Vault,
    private readonly audit: AuditLog,
    private readonly resolve: (ref: string) => Promise<UpstreamRecord>,
    /** Without a gateway in this process (tests, tools): drop cached runtimes instead. */
    private readonly onChange: () => Promise<void>,
    private readonly view: (record: UpstreamRecord) => Record<string, unknown>,
  ) {}

  /** Called once the gateway exists (it is created after the admin services). */
  attach(registry: UpstreamKeyLifecycle): void {
    this.registry = registry;
  }

  addKey(ref: string, secret: string, actor: string): Promise<UpstreamRecord> {
    return this.serialized(async () => {
      const current = await this.resolve(ref);
      const key = this.sealed(current.id, secret);
      const record = await this.writeKeys(current, [...current.keys, key], actor, 'upstream.key_added', { added_key_id: key.id });
      await this.publish(record);
      return record;
    });
  }

  /** Removes one key; refused for the last one (the upstream would answer nothing). Drains it first. */
  removeKey(ref: string, keyId: string, actor: string, drainTimeoutMs = DEFAULT_DRAIN_TIMEOUT_MS): Promise<RotationOutcome> {
    return this.serialized(async () => {
      const current = await this.resolve(ref);
      if (!current.keys.some((k) => k.id === keyId)) {
        throw new KeywardenError('KW_NOT_FOUND', { message: `Upstream "${current.name}" has no key "${keyId}".`, param: 'key_id' });
      }
      if (current.keys.length === 1) {
        throw new KeywardenError('KW_CONFLICT', { message: 'This is the upstream\'s only key; add or rotate to a new key instead.', param: 'key_id' });
      }
      const retiring = current.keys.map((k) => (k.id === keyId ? { ...k, retiring: true } : k));
      const marked = await this.writeKeys(current, retiring, actor, 'upstream.key_removed', { retiring_key_ids: [keyId] }, false);
      return this.drainAndRemove(marked, [keyId], '', actor, drainTimeoutMs);
    });
  }

  /**
   * Rotates to `secret`: replaces `replaceKeyIds` (default: every current key). `keyMeta` is recorded on the new key
   * (provider rotation: its provider id and creation time); `onSwitched` runs once new requests use the new key,
   * so a caller knows whether a failure came before the switch (nothing changed) or after it (the new key is live).
   */
  rotate(
    ref: string,
    secret: string,
    actor: string,
    options: { replaceKeyIds?: readonly string[]; drainTimeoutMs?: number; keyMeta?: NewKeyMeta; onSwitched?: (addedKeyId: string) => void } = {},
  ): Promise<RotationOutcome> {
    return this.serialized(async () => {
      const current = await this.resolve(ref);
      const replaced = options.replaceKeyIds ? [...new Set(options.replaceKeyIds)] : current.keys.map((k) => k.id);
      for (const id of replaced) {
        if (!current.keys.some((k) => k.id === id)) {
          throw new KeywardenError('KW_VALIDATION', { message: `Upstream "${current.name}" has no key "${id}".`, param: 'replace' });
        }
      }
      const key = { ...this.sealed(current.id, secret), ...options.keyMeta };
      const keys = [...current.keys.map((k) => (replaced.includes(k.id) ? { ...k, retiring: true } : k)), key];
      const marked = await this.writeKeys(current, keys, actor, 'upstream.key_rotated', { added_key_id: key.id, retiring_key_ids: replaced }, false);
      return this.drainAndRemove(marked, replaced, key.id, actor, options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS, options.onSwitched);
    });
  }

  private async drainAndRemove(
    marked: UpstreamRecord,
    oldKeyIds: string[],
    addedKeyId: string,
    actor: string,
    drainTimeoutMs: number,
    onSwitched?: (addedKeyId: string) => void,
  ): Promise<RotationOutcome> {
    await this.publish(marked);
    onSwitched?.(addedKeyId);
    const inFlight = this.registry ? await this.registry.drain(marked.id, oldKeyIds, drainTimeoutMs) : 0;
    // Re-read: the record may have been renamed or re-pointed meanwhile; only the key list is ours to change.
    const latest = await this.resolve(marked.id);
    const record = await this.writeKeys(
      latest,
      latest.keys.filter((k) => !oldKeyIds.includes(k.id)),
      actor,
      addedKeyId ? 'upstream.key_rotated' : 'upstream.key_removed',
      { removed_key_ids: oldKeyIds, in_flight_at_removal: inFlight },
    );
    await this.publish(record);
    return { record, addedKeyId, removedKeyIds: oldKeyIds, inFlightAtRemoval: inFlight };
  }

  private sealed(upstreamId: string, secret: string): UpstreamKeyRecord {
    const id = `uk_${randomBase62(8)}`;
    return { id, ciphertext: this.vault.encrypt(secret, upstreamKeyAad(upstreamId, id)), last4: secret.slice(-4) };
  }

  private async writeKeys(
    current: UpstreamRecord,
    keys: UpstreamKeyRecord[],
    actor: string,
    action: 'upstream.key_added' | 'upstream.key_removed' | 'upstream.key_rotated',
    detail: Record<string, unknown>,
    finished = true,
  ): Promise<UpstreamRecord> {
    const record: UpstreamRecord = { ...current, keys };
    await this.audit.withAudit(
      () => this.store.upstreams.replaceKeys(current.id, keys),
      () => ({
        actor,
        action,
        target: `upstream:${current.id}`,
        before: this.view(current),
        after: { ...this.view(record), ...detail, phase: finished ? 'done' : 'draining' },
      }),
    );
    return record;
  }

  private async publish(record: UpstreamRecord): Promise<void> {
    if (this.registry) this.registry.applyKeys(record);
    else await this.onChange();
  }

  private serialized<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
