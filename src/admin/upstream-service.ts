import { KeywardenError } from '../errors/index.js';
import { randomBase62 } from '../keys/index.js';
import { upstreamKeyAad } from '../gateway/upstream-registry.js';
import type { ProviderKind, Store, UpstreamKeyRecord, UpstreamRecord } from '../store/index.js';
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

export class UpstreamService {
  constructor(
    private readonly store: Store,
    private readonly vault: Vault,
    private readonly now: () => number,
    /** Tells the gateway to drop cached upstream runtimes. */
    private readonly onChange: () => Promise<void>,
    private readonly audit: AuditLog,
    /** Where an upstream may point; the gateway applies the same policy again when it connects. */
    private readonly outbound: OutboundPolicy = createOutboundPolicy({ allow: [] }),
  ) {}

  /** Adds an upstream; the insert and its audit entry commit together, then the gateway reloads. */
  async add(input: CreateUpstreamInput, actor: string): Promise<UpstreamRecord> {
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
      return { id: keyId, ciphertext: this.vault.encrypt(secret, upstreamKeyAad(id, keyId)), last4: secret.slice(-4) };
    });
    const record: UpstreamRecord = {
      id,
      name: input.name,
      provider,
      baseUrl,
      apiVersion: input.api_version ?? null,
      deployments: input.deployments ?? {},
      keys,
      isDefault: input.default ?? false,
      createdAt: this.now(),
    };
    await this.audit.withAudit(
      () => this.store.upstreams.insert(record),
      () => ({ actor, action: 'upstream.added', target: `upstream:${record.id}`, after: upstreamView(record) }),
    );
    await this.onChange();
    return record;
  }

  list(): Promise<UpstreamRecord[]> {
    return this.store.upstreams.list();
  }

  async remove(ref: string, actor: string): Promise<UpstreamRecord> {
    const record = (await this.store.upstreams.get(ref)) ?? (await this.store.upstreams.getByName(ref));
    if (!record) throw new KeywardenError('KW_NOT_FOUND', { message: `No upstream "${ref}".` });
    await this.audit.withAudit(
      () => this.store.upstreams.remove(record.id),
      () => ({ actor, action: 'upstream.removed', target: `upstream:${record.id}`, before: upstreamView(record) }),
    );
    await this.onChange();
    return record;
  }
}
