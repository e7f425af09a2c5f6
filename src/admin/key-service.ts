import { KeywardenError } from '../errors/index.js';
import { generateKeyId, generateVirtualKey, hashVirtualKey } from '../keys/index.js';
import { defaultScopes } from '../policy/index.js';
import type { KeyPatch, KeyScopes, Store, VirtualKeyRecord } from '../store/index.js';
import { parseDuration, parseTimeOrDuration } from '../util/duration.js';
import type { CreateKeyInput, UpdateKeyInput } from './schemas.js';

export interface IssuedKey {
  record: VirtualKeyRecord;
  /** The secret, shown once to the caller and never stored. */
  secret: string;
}

function expiresAt(value: string | number | null | undefined, now: number): number | null | undefined {
  if (value === undefined || value === null) return value;
  if (typeof value === 'number') return value;
  const at = parseTimeOrDuration(value, now);
  if (at === null) throw new KeywardenError('KW_VALIDATION', { message: 'expires: expected a duration or date', param: 'expires' });
  return at;
}

/** Key lifecycle: create, update, rotate (with a grace period for the old secret), revoke. */
export class KeyService {
  constructor(
    private readonly store: Store,
    private readonly pepper: Buffer,
    private readonly now: () => number,
  ) {}

  private async resolveUpstreamId(ref: string | null | undefined): Promise<string | null | undefined> {
    if (ref === undefined || ref === null) return ref;
    const upstream = (await this.store.upstreams.get(ref)) ?? (await this.store.upstreams.getByName(ref));
    if (!upstream) throw new KeywardenError('KW_VALIDATION', { message: `Unknown upstream "${ref}".`, param: 'upstream' });
    return upstream.id;
  }

  async create(input: CreateKeyInput): Promise<IssuedKey> {
    const now = this.now();
    const secret = generateVirtualKey();
    const defaults = defaultScopes();
    const scopes: KeyScopes = {
      models: input.models ?? defaults.models,
      endpoints: input.endpoints ?? defaults.endpoints,
      ipAllowlist: input.ip_allowlist ?? defaults.ipAllowlist,
      maxBodyBytes: input.max_body_bytes ?? null,
    };
    const record: VirtualKeyRecord = {
      id: generateKeyId(),
      name: input.name,
      hash: hashVirtualKey(secret, this.pepper),
      last4: secret.slice(-4),
      previousHash: null,
      previousHashExpiresAt: null,
      upstreamId: (await this.resolveUpstreamId(input.upstream)) ?? null,
      scopes,
      limits: input.limits ?? {},
      metadata: input.metadata ?? {},
      createdAt: now,
      updatedAt: now,
      expiresAt: expiresAt(input.expires, now) ?? null,
      revokedAt: null,
      suspendedAt: null,
      suspendedReason: null,
      rotatedAt: null,
    };
    await this.store.keys.insert(record);
    return { record, secret };
  }

  async get(id: string): Promise<VirtualKeyRecord> {
    const record = await this.store.keys.get(id);
    if (!record) throw new KeywardenError('KW_NOT_FOUND', { message: `No key with id "${id}".` });
    return record;
  }

  list(): Promise<VirtualKeyRecord[]> {
    return this.store.keys.list();
  }

  async update(id: string, input: UpdateKeyInput): Promise<VirtualKeyRecord> {
    const current = await this.get(id);
    const now = this.now();
    const patch: KeyPatch = {};
    if (input.name !== undefined) patch.name = input.name;
    const scopes: KeyScopes = { ...current.scopes };
    if (input.models !== undefined) scopes.models = input.models;
    if (input.endpoints !== undefined) scopes.endpoints = input.endpoints;
    if (input.ip_allowlist !== undefined) scopes.ipAllowlist = input.ip_allowlist;
    if (input.max_body_bytes !== undefined) scopes.maxBodyBytes = input.max_body_bytes;
    patch.scopes = scopes;
    const expires = expiresAt(input.expires, now);
    if (expires !== undefined) patch.expiresAt = expires;
    const upstreamId = await this.resolveUpstreamId(input.upstream);
    if (upstreamId !== undefined) patch.upstreamId = upstreamId;
    if (input.metadata !== undefined) patch.metadata = input.metadata;
    if (input.limits !== undefined) patch.limits = input.limits;
    return (await this.store.keys.update(id, patch, now)) ?? current;
  }

  /**
   * Issues a new secret under the same key id. The old secret keeps working for `grace` (default 0: it stops
   * at once), so deployments can roll over without downtime.
   */
  async rotate(id: string, grace: string | number | undefined): Promise<IssuedKey> {
    const current = await this.get(id);
    if (current.revokedAt !== null) throw new KeywardenError('KW_KEY_REVOKED', { message: 'A revoked key cannot be rotated.' });
    const now = this.now();
    const graceMs = grace === undefined ? 0 : typeof grace === 'number' ? grace * 1000 : (parseDuration(grace) ?? 0);
    const secret = generateVirtualKey();
    const record = await this.store.keys.update(
      id,
      {
        hash: hashVirtualKey(secret, this.pepper),
        last4: secret.slice(-4),
        previousHash: graceMs > 0 ? current.hash : null,
        previousHashExpiresAt: graceMs > 0 ? now + graceMs : null,
        rotatedAt: now,
      },
      now,
    );
    return { record: record ?? current, secret };
  }

  /** Takes effect on the very next request: the gateway reads key state from the store on every request. */
  async revoke(id: string): Promise<VirtualKeyRecord> {
    const current = await this.get(id);
    if (current.revokedAt !== null) return current;
    const now = this.now();
    return (await this.store.keys.update(id, { revokedAt: now, previousHash: null, previousHashExpiresAt: null }, now)) ?? current;
  }

  async suspend(id: string, reason: string): Promise<VirtualKeyRecord> {
    await this.get(id);
    const now = this.now();
    return (await this.store.keys.update(id, { suspendedAt: now, suspendedReason: reason }, now)) as VirtualKeyRecord;
  }

  async unsuspend(id: string): Promise<VirtualKeyRecord> {
    await this.get(id);
    const now = this.now();
    return (await this.store.keys.update(id, { suspendedAt: null, suspendedReason: null }, now)) as VirtualKeyRecord;
  }
}
