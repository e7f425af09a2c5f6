import { assertPrimaryNotFallback, resolveFallbacks } from './key-fallbacks.js';
import { KeywardenError } from '../errors/index.js';
import { generateKeyId, generateVirtualKey, hasValidChecksum, hashVirtualKey, maskSecret } from '../keys/index.js';
import { defaultScopes } from '../policy/index.js';
import type { KeyPatch, KeyScopes, Store, VirtualKeyRecord } from '../store/index.js';
import { parseDuration, parseTimeOrDuration } from '../util/duration.js';
import type { AuditLog } from '../audit/index.js';
import type { AuditAction } from '../audit/types.js';
import { keyView } from './key-view.js';
import { resolveKeyRef } from './key-ref.js';
import type { CreateChildKeyInput, CreateKeyInput, UpdateKeyInput } from './schemas.js';
import { mintChild } from './child-keys.js';

export interface IssuedKey {
  record: VirtualKeyRecord;
  /** The secret, shown once to the caller and never stored. */
  secret: string;
}

function expiresAt(value: string | number | null | undefined, now: number): number | null | undefined {
  if (value === undefined || value === null) return value;
  const at = typeof value === 'number' ? value : parseTimeOrDuration(value, now);
  if (at === null) throw new KeywardenError('KW_VALIDATION', { message: 'expires: expected a duration or date', param: 'expires' });
  if (at <= now) {
    // A past expiry would create a key that never works (or silently kill one): almost always a typo.
    throw new KeywardenError('KW_VALIDATION', {
      message: `expires: ${new Date(at).toISOString()} is not in the future (use a duration such as 30d, or revoke the key to stop it now).`,
      param: 'expires',
    });
  }
  return at;
}

/**
 * Key lifecycle: create, update, rotate (with a grace period for the old secret), revoke, suspend. Every change
 * and its audit entry commit together: if the entry cannot be written, the change does not happen.
 */
export class KeyService {
  constructor(
    private readonly store: Store,
    private readonly pepper: Buffer,
    private readonly now: () => number,
    private readonly audit: AuditLog,
  ) {}

  /** Runs a store change and its audit entry as one unit; before/after are the public key views (no secrets). */
  private audited<T extends { record: VirtualKeyRecord } | VirtualKeyRecord>(
    actor: string,
    action: AuditAction,
    before: VirtualKeyRecord | null,
    change: () => Promise<T>,
  ): Promise<T> {
    return this.audit.withAudit(change, (result) => {
      const record: VirtualKeyRecord = 'record' in result && typeof result.record === 'object' ? result.record : (result as VirtualKeyRecord);
      const now = this.now();
      return {
        actor,
        action,
        target: `key:${record.id}`,
        ...(before ? { before: keyView(before, now) } : {}),
        after: keyView(record, now),
      };
    });
  }

  private async resolveUpstreamId(ref: string | null | undefined): Promise<string | null | undefined> {
    if (ref === undefined || ref === null) return ref;
    const upstream = (await this.store.upstreams.get(ref)) ?? (await this.store.upstreams.getByName(ref));
    if (!upstream) throw new KeywardenError('KW_VALIDATION', { message: `Unknown upstream "${ref}".`, param: 'upstream' });
    return upstream.id;
  }

  /** A project by id or name; unknown ones are a validation error, null clears. */
  private async resolveProjectId(ref: string | null | undefined): Promise<string | null | undefined> {
    if (ref === undefined || ref === null) return ref;
    const project = (await this.store.projects.get(ref)) ?? (await this.store.projects.getByName(ref));
    if (!project) throw new KeywardenError('KW_VALIDATION', { message: `Unknown project "${ref}".`, param: 'project' });
    return project.id;
  }

  /** `objects_from` must name existing keys (other than the key itself); duplicates are dropped. */
  private async resolveObjectOwners(ids: readonly string[], self?: string): Promise<string[]> {
    const unique = [...new Set(ids)];
    for (const id of unique) {
      if (id === self || !(await this.store.keys.get(id))) {
        throw new KeywardenError('KW_VALIDATION', { message: `objects_from: unknown key "${id}".`, param: 'objects_from' });
      }
    }
    return unique;
  }

  create(input: CreateKeyInput, actor: string): Promise<IssuedKey> {
    return this.audited(actor, 'key.created', null, () => this.insert(input));
  }

  private async insert(input: CreateKeyInput): Promise<IssuedKey> {
    const now = this.now();
    const secret = generateVirtualKey();
    const defaults = defaultScopes();
    const scopes: KeyScopes = {
      models: input.models ?? defaults.models,
      endpoints: input.endpoints ?? defaults.endpoints,
      ipAllowlist: input.ip_allowlist ?? defaults.ipAllowlist,
      maxBodyBytes: input.max_body_bytes ?? null,
    };
    if (input.objects_from !== undefined) scopes.objectsFrom = await this.resolveObjectOwners(input.objects_from);
    const upstreamId = (await this.resolveUpstreamId(input.upstream)) ?? null;
    const record: VirtualKeyRecord = {
      id: generateKeyId(),
      name: input.name,
      hash: hashVirtualKey(secret, this.pepper),
      last4: secret.slice(-4),
      previousHash: null,
      previousHashExpiresAt: null,
      upstreamId,
      fallbackUpstreamIds: await resolveFallbacks(this.store, input.fallbacks ?? [], upstreamId),
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
      projectId: (await this.resolveProjectId(input.project)) ?? null,
      ...(input.canary === true ? { canary: true } : {}),
    };
    await this.store.keys.insert(record);
    return { record, secret };
  }

  /** An ephemeral child of the named key (see child-keys.ts); audited as a key creation naming its parent. */
  async createChild(parentRef: string, input: CreateChildKeyInput, actor: string): Promise<IssuedKey> {
    const parent = await this.get(parentRef);
    return this.audited(actor, 'key.created', null, async () => {
      const issued = mintChild(parent, input, this.now(), this.pepper);
      await this.store.keys.insert(issued.record);
      return issued;
    });
  }

  /** Revokes every not yet revoked child of the key (each audited); the parent itself is left as it is. */
  async revokeChildren(parentRef: string, actor: string): Promise<VirtualKeyRecord[]> {
    const parent = await this.get(parentRef);
    const children = (await this.store.keys.list()).filter((k) => k.parentId === parent.id && k.revokedAt === null);
    const revoked: VirtualKeyRecord[] = [];
    for (const child of children) revoked.push(await this.revoke(child.id, actor));
    return revoked;
  }

  /** A key by id or name (see resolveKeyRef). */
  get(ref: string): Promise<VirtualKeyRecord> {
    return resolveKeyRef(this.store.keys, ref);
  }

  list(): Promise<VirtualKeyRecord[]> {
    return this.store.keys.list();
  }

  /**
   * A key by id or name as seen by a project-limited admin token: keys outside the project do not exist for it
   * (404), and names are matched only among the project's keys, so an ambiguity error never lists other ids.
   */
  getInProject(ref: string, projectId: string | null): Promise<VirtualKeyRecord> {
    if (projectId === null) return this.get(ref);
    const inProject = (key: VirtualKeyRecord | null): VirtualKeyRecord | null => (key && key.projectId === projectId ? key : null);
    return resolveKeyRef(
      {
        get: async (id) => inProject(await this.store.keys.get(id)),
        list: async () => (await this.store.keys.list()).filter((k) => k.projectId === projectId),
      },
      ref,
    );
  }

  /** The project id a reference names (id or name), or null/undefined as given. */
  projectIdOf(ref: string | null | undefined): Promise<string | null | undefined> {
    return this.resolveProjectId(ref);
  }

  async update(id: string, input: UpdateKeyInput, actor: string): Promise<VirtualKeyRecord> {
    const current = await this.get(id);
    return this.audited(actor, 'key.updated', current, () => this.applyUpdate(current, input));
  }

  private async applyUpdate(current: VirtualKeyRecord, input: UpdateKeyInput): Promise<VirtualKeyRecord> {
    const id = current.id;
    const now = this.now();
    const patch: KeyPatch = {};
    if (input.name !== undefined) patch.name = input.name;
    const scopes: KeyScopes = { ...current.scopes };
    if (input.models !== undefined) scopes.models = input.models;
    if (input.endpoints !== undefined) scopes.endpoints = input.endpoints;
    if (input.ip_allowlist !== undefined) scopes.ipAllowlist = input.ip_allowlist;
    if (input.max_body_bytes !== undefined) scopes.maxBodyBytes = input.max_body_bytes;
    if (input.objects_from !== undefined) scopes.objectsFrom = await this.resolveObjectOwners(input.objects_from, id);
    patch.scopes = scopes;
    const expires = expiresAt(input.expires, now);
    if (expires !== undefined) patch.expiresAt = expires;
    const upstreamId = await this.resolveUpstreamId(input.upstream);
    if (upstreamId !== undefined) patch.upstreamId = upstreamId;
    const primaryId = upstreamId !== undefined ? upstreamId : current.upstreamId;
    if (input.fallbacks !== undefined) patch.fallbackUpstreamIds = await resolveFallbacks(this.store, input.fallbacks, primaryId);
    else if (upstreamId !== undefined) assertPrimaryNotFallback(primaryId, current.fallbackUpstreamIds);
    if (input.metadata !== undefined) patch.metadata = input.metadata;
    if (input.limits !== undefined) patch.limits = input.limits;
    const projectId = await this.resolveProjectId(input.project);
    if (projectId !== undefined) patch.projectId = projectId;
    return (await this.store.keys.update(id, patch, now)) ?? current;
  }

  /**
   * Issues a new secret under the same key id. The old secret keeps working for `grace` (default 0: it stops
   * at once), so deployments can roll over without downtime.
   */
  async rotate(id: string, grace: string | number | undefined, actor: string): Promise<IssuedKey> {
    const current = await this.get(id);
    if (current.revokedAt !== null) throw new KeywardenError('KW_KEY_REVOKED', { message: 'A revoked key cannot be rotated.' });
    return this.audited(actor, 'key.rotated', current, () => this.replaceSecret(current, grace));
  }

  private async replaceSecret(current: VirtualKeyRecord, grace: string | number | undefined): Promise<IssuedKey> {
    const id = current.id;
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
  async revoke(id: string, actor: string): Promise<VirtualKeyRecord> {
    const current = await this.get(id);
    if (current.revokedAt !== null) return current;
    return this.audited(actor, 'key.revoked', current, () => this.patch(current, { revokedAt: this.now(), previousHash: null, previousHashExpiresAt: null }));
  }

  /** A suspended key answers 403 key_suspended with the reason until an admin lifts it. */
  async suspend(id: string, reason: string, actor: string): Promise<VirtualKeyRecord> {
    const current = await this.get(id);
    return this.audited(actor, 'key.suspended', current, () => this.patch(current, { suspendedAt: this.now(), suspendedReason: reason }));
  }

  async unsuspend(id: string, actor: string): Promise<VirtualKeyRecord> {
    const current = await this.get(id);
    return this.audited(actor, 'key.unsuspended', current, () => this.patch(current, { suspendedAt: null, suspendedReason: null }));
  }

  /**
   * A leaked secret was found (by `keywarden scan` or a person): record it, and revoke the key unless told not
   * to. Only the masked secret is kept. Unknown or malformed secrets are reported as not found, and not recorded.
   */
  async reportLeak(
    secret: string,
    source: string,
    revoke: boolean,
    actor: string,
  ): Promise<{ record: VirtualKeyRecord; revoked: boolean } | null> {
    if (!hasValidChecksum(secret)) return null;
    const record = await this.store.keys.findByHash(hashVirtualKey(secret, this.pepper));
    if (!record) return null;
    await this.audit.append({
      actor,
      action: 'security.leak_reported',
      target: `key:${record.id}`,
      after: { display: maskSecret(secret), source, revoke },
    });
    if (!revoke || record.revokedAt !== null) return { record, revoked: record.revokedAt !== null };
    return { record: await this.revoke(record.id, actor), revoked: true };
  }

  private async patch(current: VirtualKeyRecord, patch: KeyPatch): Promise<VirtualKeyRecord> {
    return (await this.store.keys.update(current.id, patch, this.now())) ?? current;
  }
}
