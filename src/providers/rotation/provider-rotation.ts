import type { AuditLog } from '../../audit/index.js';
import type { UpstreamService } from '../../admin/upstream-service.js';
import { DEFAULT_DRAIN_TIMEOUT_MS } from '../../admin/upstream-key-service.js';
import { KeywardenError } from '../../errors/index.js';
import { upstreamKeyAad } from '../../gateway/upstream-registry.js';
import { maskSecret } from '../../keys/index.js';
import type { UpstreamRecord } from '../../store/index.js';
import type { Vault } from '../../vault/index.js';
import type { OpenAIAdminClient } from '../openai/admin-client.js';
import { matchesRedacted, parseRedacted } from '../openai/redacted-match.js';
import type { ProviderConnection } from '../provider-connection.js';
import type { UpstreamLinks, UpstreamProviderLink } from './upstream-link.js';

export interface ProviderRotationDeps {
  upstreams: UpstreamService;
  links: UpstreamLinks;
  connection: ProviderConnection;
  vault: Vault;
  audit: AuditLog;
  now: () => number;
}

export interface ProviderRotationOutcome {
  object: 'provider_rotation';
  upstream_id: string;
  upstream: string;
  project_id: string;
  service_account_id: string;
  /** The new key: keywarden's id, the provider's id, prefix and last 4 only. */
  added_key_id: string;
  added_provider_key_id: string;
  added_display: string;
  removed_key_ids: string[];
  /** Requests still on an old key when the drain timed out (0: every one had finished before the delete). */
  in_flight_at_removal: number;
  deleted_provider_key_ids: string[];
  /** Old keys still live at the provider: their delete failed (retried by the next pass) or they were not identified. */
  left_at_provider: Array<{ provider_key_id: string | null; key_id: string | null; reason: string }>;
}

const errorText = (err: unknown): string => (err instanceof KeywardenError ? err.message : 'unexpected error');

/**
 * Rotation of an upstream's key at the provider (OpenAI service accounts). OpenAI can add a key to an existing
 * service account, so the account stays and only its key changes:
 * 1. a new key is created for the linked service account;
 * 2. it is sealed and switched in atomically (UpstreamKeyService.rotate): the next request uses it, requests in
 *    flight finish on the old key, which is removed from the vault record once none holds it (or the drain timeout
 *    passed: then audited, and deleted anyway);
 * 3. the old key is deleted at the provider.
 * A failure before the switch deletes the new key again, so nothing is half-done and the old key keeps working.
 * Every step is audited. One rotation per upstream at a time.
 */
export class ProviderRotation {
  private readonly running = new Set<string>();

  constructor(private readonly deps: ProviderRotationDeps) {}

  async rotate(ref: string, actor: string, options: { drainTimeoutMs?: number } = {}): Promise<ProviderRotationOutcome> {
    const record = await this.deps.upstreams.resolve(ref);
    if (this.running.has(record.id)) throw new KeywardenError('KW_CONFLICT', { message: `A rotation of upstream "${record.name}" is already running.` });
    this.running.add(record.id);
    try {
      return await this.rotateLocked(record, actor, options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS);
    } finally {
      this.running.delete(record.id);
    }
  }

  /** Deletes old provider keys whose deletion failed during an earlier rotation; returns the ones still left. */
  async retryPendingDeletes(upstreamId: string, actor: string): Promise<string[]> {
    const link = await this.deps.links.get(upstreamId);
    if (!link || link.pendingDeletes.length === 0 || this.running.has(upstreamId)) return link?.pendingDeletes ?? [];
    const client = await this.deps.connection.client();
    const left: string[] = [];
    for (const providerKeyId of link.pendingDeletes) {
      if (!(await this.deleteOld(client, upstreamId, link, providerKeyId, actor, 'retry'))) left.push(providerKeyId);
    }
    await this.deps.links.set(upstreamId, { ...link, pendingDeletes: left });
    return left;
  }

  private async rotateLocked(record: UpstreamRecord, actor: string, drainTimeoutMs: number): Promise<ProviderRotationOutcome> {
    const link = await this.deps.links.get(record.id);
    if (!link) {
      throw new KeywardenError('KW_CONFLICT', {
        message: `Upstream "${record.name}" is not linked to a provider service account: run keywarden upstreams link ${record.name} first.`,
      });
    }
    const client = await this.deps.connection.client();
    const target = `upstream:${record.id}`;
    const where = { upstream: record.name, project_id: link.projectId, service_account_id: link.serviceAccountId };
    const old = await this.identifyOldKeys(client, record, link);
    await this.deps.audit.append({
      actor,
      action: 'provider.rotation_started',
      target,
      after: { ...where, old_keys: old.map((k) => ({ key_id: k.keyId, provider_key_id: k.providerKeyId })), drain_timeout_ms: drainTimeoutMs },
    });

    let created: { id: string; value: string };
    try {
      created = await client.createServiceAccountKey(link.projectId, link.serviceAccountId, `keywarden ${record.name} ${new Date(this.deps.now()).toISOString()}`);
    } catch (err) {
      await this.deps.audit.append({ actor, action: 'provider.rotation_failed', target, after: { ...where, step: 'create_key', reason: errorText(err), old_key_kept: true } });
      throw new KeywardenError('KW_PROVIDER_FAILED', { message: `Rotation of "${record.name}" failed: the new key could not be created (${errorText(err)}). The old key is unchanged.` });
    }
    const display = maskSecret(created.value);
    await this.deps.audit.append({ actor, action: 'provider.rotation_key_created', target, after: { ...where, provider_key_id: created.id, display } });

    let switched = false;
    let outcome;
    try {
      outcome = await this.deps.upstreams.keys.rotate(record.id, created.value, actor, {
        replaceKeyIds: record.keys.map((k) => k.id),
        drainTimeoutMs,
        keyMeta: { createdAt: this.deps.now(), providerKeyId: created.id },
        onSwitched: () => {
          switched = true;
        },
      });
    } catch (err) {
      if (switched) {
        // The new key already serves requests: deleting it now would fail them. The old key stays vaulted
        // (retiring) and live at the provider; the operator finishes with `upstreams keys remove`.
        await this.deps.audit.append({ actor, action: 'provider.rotation_failed', target, after: { ...where, step: 'remove_old_key', reason: errorText(err), new_key_live: true, provider_key_id: created.id } });
        throw new KeywardenError('KW_PROVIDER_FAILED', { message: `Rotation of "${record.name}" switched to the new key but could not remove the old one (${errorText(err)}).` });
      }
      const undone = await this.deleteNew(client, link, created.id);
      await this.deps.audit.append({
        actor,
        action: 'provider.rotation_failed',
        target,
        after: { ...where, step: 'seal_and_switch', reason: errorText(err), old_key_kept: true, provider_key_id: created.id, new_key_deleted: undone },
      });
      throw new KeywardenError('KW_PROVIDER_FAILED', {
        message: `Rotation of "${record.name}" failed before the switch (${errorText(err)}); the old key is unchanged${undone ? ' and the new key was deleted at the provider' : `; delete the new key ${created.id} at the provider`}.`,
      });
    }
    if (outcome.inFlightAtRemoval > 0) {
      await this.deps.audit.append({ actor, action: 'provider.rotation_drain_timeout', target, after: { ...where, in_flight: outcome.inFlightAtRemoval, drain_timeout_ms: drainTimeoutMs } });
    }

    const deleted: string[] = [];
    const left: ProviderRotationOutcome['left_at_provider'] = [];
    const pending = [...link.pendingDeletes];
    for (const key of old) {
      if (key.providerKeyId === null) {
        left.push({ provider_key_id: null, key_id: key.keyId, reason: 'not identified at the provider: delete it there by hand' });
      } else if (await this.deleteOld(client, record.id, link, key.providerKeyId, actor, 'rotation')) {
        deleted.push(key.providerKeyId);
      } else {
        pending.push(key.providerKeyId);
        left.push({ provider_key_id: key.providerKeyId, key_id: key.keyId, reason: 'the provider did not delete it; retried by the next rotation pass' });
      }
    }
    if (pending.length !== link.pendingDeletes.length) await this.deps.links.set(record.id, { ...link, pendingDeletes: [...new Set(pending)] });
    await this.deps.audit.append({
      actor,
      action: 'provider.rotation_completed',
      target,
      after: { ...where, added_key_id: outcome.addedKeyId, provider_key_id: created.id, display, deleted_provider_key_ids: deleted, left_at_provider: left.length },
    });
    return {
      object: 'provider_rotation',
      upstream_id: record.id,
      upstream: record.name,
      project_id: link.projectId,
      service_account_id: link.serviceAccountId,
      added_key_id: outcome.addedKeyId,
      added_provider_key_id: created.id,
      added_display: display,
      removed_key_ids: outcome.removedKeyIds,
      in_flight_at_removal: outcome.inFlightAtRemoval,
      deleted_provider_key_ids: deleted,
      left_at_provider: left,
    };
  }

  /**
   * The provider id of each vaulted key: recorded when keywarden created it, else found among the service
   * account's keys by redacted value (only a unique match counts, as in revocation).
   */
  private async identifyOldKeys(client: OpenAIAdminClient, record: UpstreamRecord, link: UpstreamProviderLink): Promise<Array<{ keyId: string; providerKeyId: string | null }>> {
    if (record.keys.every((k) => k.providerKeyId !== undefined)) return record.keys.map((k) => ({ keyId: k.id, providerKeyId: k.providerKeyId ?? null }));
    const accountKeys = (await client.listProjectApiKeys(link.projectId)).filter((k) => k.owner?.service_account?.id === link.serviceAccountId);
    return record.keys.map((k) => {
      if (k.providerKeyId !== undefined) return { keyId: k.id, providerKeyId: k.providerKeyId };
      let secret: string;
      try {
        secret = this.deps.vault.decrypt(k.ciphertext, upstreamKeyAad(record.id, k.id));
      } catch {
        return { keyId: k.id, providerKeyId: null };
      }
      const matches = accountKeys.filter((candidate) => matchesRedacted(secret, parseRedacted(candidate.redacted_value)));
      return { keyId: k.id, providerKeyId: matches.length === 1 ? (matches[0]?.id ?? null) : null };
    });
  }

  private async deleteNew(client: OpenAIAdminClient, link: UpstreamProviderLink, providerKeyId: string): Promise<boolean> {
    try {
      return await client.deleteProjectApiKey(link.projectId, providerKeyId);
    } catch {
      return false;
    }
  }

  private async deleteOld(client: OpenAIAdminClient, upstreamId: string, link: UpstreamProviderLink, providerKeyId: string, actor: string, phase: 'rotation' | 'retry'): Promise<boolean> {
    const target = `upstream:${upstreamId}`;
    try {
      // A 404 reads as "not deleted": the key is already gone, which is what was wanted.
      const deleted = await client.deleteProjectApiKey(link.projectId, providerKeyId);
      await this.deps.audit.append({ actor, action: 'provider.rotation_old_key_deleted', target, after: { project_id: link.projectId, provider_key_id: providerKeyId, already_gone: !deleted, phase } });
      return true;
    } catch (err) {
      await this.deps.audit.append({ actor, action: 'provider.rotation_failed', target, after: { project_id: link.projectId, step: 'delete_old_key', provider_key_id: providerKeyId, reason: errorText(err), phase } });
      return false;
    }
  }
}
