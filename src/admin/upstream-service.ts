import { KeywardenError } from '../errors/index.js';
import { randomBase62 } from '../keys/index.js';
import { upstreamKeyAad } from '../gateway/upstream-registry.js';
import type { ProviderKind, Store, UpstreamKeyRecord, UpstreamPatch, UpstreamRecord } from '../store/index.js';
import { UpstreamKeyService, type NewKeyMeta } from './upstream-key-service.js';
import { bindingsOf, boundConflict, makeDefault, reassign, settleDefaultOnAdd } from './upstream-bindings.js';
import type { UpdateUpstreamInput } from './upstream-schemas.js';
import type { Vault } from '../vault/index.js';
import type { AuditLog } from '../audit/index.js';
import type { CreateUpstreamInput } from './schemas.js';
import { createOutboundPolicy, maskUrlUserinfo, type OutboundPolicy } from '../policy/outbound-url.js';

export const OPENAI_DEFAULT_BASE_URL = 'https://api.openai.com/v1';

/** What the admin API shows of an upstream: its keys only as prefix and last 4 characters. */
export function upstreamView(record: UpstreamRecord): Record<string, unknown> {
  return {
    id: record.id,
    object: 'upstream',
    name: record.name,
    provider: record.provider,
    // Old records may hold user:password@; it is never shown back (API, CLI, audit entries all use this view).
    base_url: maskUrlUserinfo(record.baseUrl),
    api_version: record.apiVersion,
    deployments: record.deployments,
    default: record.isDefault,
    keys: record.keys.map((key) => ({ id: key.id, display: `…${key.last4}` })),
    created_at: new Date(record.createdAt).toISOString(),
  };
}

export interface RemovedUpstream {
  record: UpstreamRecord;
  /** With reassign_to: the keys moved and whether the default moved too. */
  reassigned: { movedKeyIds: string[]; defaultMoved: boolean } | null;
}

export class UpstreamService {
  /** Provider keys: add, remove, rotate with drain (see upstream-key-service.ts). */
  readonly keys: UpstreamKeyService;

  constructor(
    private readonly store: Store,
    private readonly vault: Vault,
    private readonly now: () => number,
    /** Tells the gateway to drop cached upstream runtimes. */
    private readonly onChange: () => Promise<void>,
    private readonly audit: AuditLog,
    /** Where an upstream may point; the gateway applies the same policy again when it connects. */
    private readonly outbound: OutboundPolicy = createOutboundPolicy({ allow: [] }),
  ) {
    this.keys = new UpstreamKeyService(store, vault, audit, (ref) => this.resolve(ref), onChange, upstreamView);
  }

  /** Adds an upstream; the insert and its audit entry commit together, then the gateway reloads. */
  async add(input: CreateUpstreamInput, actor: string, keyMeta?: NewKeyMeta): Promise<UpstreamRecord> {
    if (await this.store.upstreams.getByName(input.name)) {
      throw new KeywardenError('KW_CONFLICT', { message: `An upstream named "${input.name}" already exists.` });
    }
    const provider: ProviderKind = input.provider;
    if (provider !== 'openai' && !input.base_url) {
      throw new KeywardenError('KW_VALIDATION', { message: `base_url is required for provider ${provider}.`, param: 'base_url' });
    }
    if (provider === 'azure' && !input.api_version) {
      throw new KeywardenError('KW_VALIDATION', { message: 'api_version is required for Azure OpenAI.', param: 'api_version' });
    }
    const baseUrl = (input.base_url ?? OPENAI_DEFAULT_BASE_URL).replace(/\/+$/, '');
    const verdict = this.outbound.checkUrl(baseUrl);
    if (!verdict.ok) {
      throw new KeywardenError('KW_VALIDATION', { message: `base_url is not allowed: ${verdict.reason}.`, param: 'base_url' });
    }
    const id = `ups_${randomBase62(12)}`;
    const keys: UpstreamKeyRecord[] = input.keys.map((secret) => {
      const keyId = `uk_${randomBase62(8)}`;
      return { id: keyId, ciphertext: this.vault.encrypt(secret, upstreamKeyAad(id, keyId)), last4: secret.slice(-4), ...keyMeta };
    });
    const record: UpstreamRecord = {
      id,
      name: input.name,
      provider,
      baseUrl,
      apiVersion: input.api_version ?? null,
      deployments: input.deployments ?? {},
      keys,
      isDefault: false,
      createdAt: this.now(),
    };
    await this.audit.withAudit(
      async () => {
        record.isDefault = await settleDefaultOnAdd(this.store, await this.store.upstreams.list(), input.default ?? false);
        await this.store.upstreams.insert(record);
      },
      () => ({ actor, action: 'upstream.added', target: `upstream:${record.id}`, after: upstreamView(record) }),
    );
    await this.onChange();
    return record;
  }

  list(): Promise<UpstreamRecord[]> {
    return this.store.upstreams.list();
  }

  /** An upstream by id (`ups_…`) or by name (names are unique). */
  async resolve(ref: string, param?: string): Promise<UpstreamRecord> {
    const record = (await this.store.upstreams.get(ref)) ?? (await this.store.upstreams.getByName(ref));
    if (!record) throw new KeywardenError('KW_NOT_FOUND', { message: `No upstream "${ref}" (by id or name).`, ...(param ? { param } : {}) });
    return record;
  }

  /**
   * Removes an upstream. Refused (409) while live keys depend on it, explicitly or as the default, unless
   * `reassignTo` names another upstream: then the keys (and the default) move there in the same audited
   * transaction as the removal.
   */
  async remove(ref: string, actor: string, reassignTo?: string): Promise<RemovedUpstream> {
    const record = await this.resolve(ref);
    const target = reassignTo === undefined ? null : await this.resolve(reassignTo, 'reassign_to');
    if (target?.id === record.id) {
      throw new KeywardenError('KW_VALIDATION', { message: 'reassign_to must name a different upstream.', param: 'reassign_to' });
    }
    const outcome = await this.audit.withAudit(
      async () => {
        const upstreams = await this.store.upstreams.list();
        const bindings = await bindingsOf(this.store, upstreams, record);
        if (!target && bindings.explicit.length + bindings.viaDefault.length + bindings.asFallback.length > 0) throw boundConflict(record, bindings);
        const moved = target ? await reassign(this.store, upstreams, record, target, this.now()) : null;
        await this.store.upstreams.remove(record.id);
        return moved;
      },
      (moved) => ({
        actor,
        action: 'upstream.removed',
        target: `upstream:${record.id}`,
        before: upstreamView(record),
        ...(moved && target
          ? { after: { reassigned_to: target.id, moved_key_ids: moved.movedKeyIds, default_moved_to: moved.defaultMoved ? target.id : null } }
          : {}),
      }),
    );
    await this.onChange();
    return { record, reassigned: outcome };
  }

  /** Changes name, base URL, api-version, deployments, or makes the upstream the default; audited. */
  async update(ref: string, input: UpdateUpstreamInput, actor: string): Promise<UpstreamRecord> {
    const current = await this.resolve(ref);
    if (input.name !== undefined && input.name !== current.name && (await this.store.upstreams.getByName(input.name))) {
      throw new KeywardenError('KW_CONFLICT', { message: `An upstream named "${input.name}" already exists.`, param: 'name' });
    }
    const patch: UpstreamPatch = {};
    if (input.name !== undefined) patch.name = input.name;
    if (input.base_url !== undefined) patch.baseUrl = input.base_url.replace(/\/+$/, '');
    if (input.api_version !== undefined) patch.apiVersion = input.api_version;
    if (input.deployments !== undefined) patch.deployments = input.deployments;
    const updated = await this.audit.withAudit(
      async () => {
        if (input.default) await makeDefault(this.store, await this.store.upstreams.list(), current);
        return (await this.store.upstreams.update(current.id, patch)) ?? current;
      },
      (after) => ({ actor, action: 'upstream.updated', target: `upstream:${current.id}`, before: upstreamView(current), after: upstreamView(after) }),
    );
    await this.onChange();
    return updated;
  }
}
