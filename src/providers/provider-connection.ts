import type { AuditLog } from '../audit/index.js';
import { KeywardenError } from '../errors/index.js';
import type { OutboundLookup } from '../policy/outbound-connect.js';
import type { OutboundPolicy } from '../policy/outbound-url.js';
import type { MetaRepository } from '../store/index.js';
import type { Vault } from '../vault/index.js';
import { OpenAIAdminClient } from './openai/admin-client.js';

export const OPENAI_ADMIN_KEY_PREFIX = 'sk-admin-';
export const OPENAI_ADMIN_DEFAULT_BASE_URL = 'https://api.openai.com/v1';
const META_NAME = 'provider.openai';
const AAD = 'provider:openai:admin-key';

/** What is stored (in the meta table) about the connected OpenAI organisation: the admin key only sealed. */
interface StoredConnection {
  ciphertext: string;
  last4: string;
  baseUrl: string;
  connectedAt: number;
}

export interface ConnectionView {
  object: 'provider_connection';
  provider: 'openai';
  connected: boolean;
  base_url: string | null;
  admin_key: string | null;
  connected_at: string | null;
}

export interface ProviderConnectionDeps {
  meta: MetaRepository;
  vault: Vault;
  audit: AuditLog;
  outbound: OutboundPolicy;
  outboundLookup?: OutboundLookup;
  now: () => number;
  /** Client tuning (tests shorten back-off). */
  clientOptions?: { timeoutMs?: number; maxRetries?: number; maxRetryAfterMs?: number };
}

const displayOf = (last4: string): string => `${OPENAI_ADMIN_KEY_PREFIX}…${last4}`;

/**
 * The connection to the OpenAI organisation: the `sk-admin-…` key sealed in the vault (AES-GCM, bound to its
 * purpose by the AAD), its base URL, and the one Admin API client built from them.
 */
export class ProviderConnection {
  private cached: { raw: string; client: OpenAIAdminClient } | null = null;

  constructor(private readonly deps: ProviderConnectionDeps) {}

  async view(): Promise<ConnectionView> {
    const stored = await this.load();
    return {
      object: 'provider_connection',
      provider: 'openai',
      connected: stored !== null,
      base_url: stored?.baseUrl ?? null,
      admin_key: stored ? displayOf(stored.last4) : null,
      connected_at: stored ? new Date(stored.connectedAt).toISOString() : null,
    };
  }

  /** Checks the key against the provider (one listing call), then seals and stores it; audited. */
  async connect(adminKey: string, baseUrl: string | undefined, actor: string): Promise<ConnectionView> {
    const key = adminKey.trim();
    if (!key.startsWith(OPENAI_ADMIN_KEY_PREFIX) || key.length < 20 || key.length > 400 || /\s/.test(key)) {
      throw new KeywardenError('KW_VALIDATION', { message: `An OpenAI Admin API key starts with ${OPENAI_ADMIN_KEY_PREFIX}.`, param: 'admin_key' });
    }
    const url = (baseUrl ?? OPENAI_ADMIN_DEFAULT_BASE_URL).replace(/\/+$/, '');
    const probe = this.newClient(url, key);
    try {
      await probe.listProjects();
    } finally {
      await probe.close();
    }
    const record: StoredConnection = {
      ciphertext: this.deps.vault.encrypt(key, AAD),
      last4: key.slice(-4),
      baseUrl: url,
      connectedAt: this.deps.now(),
    };
    const before = await this.view();
    await this.deps.audit.withAudit(
      () => this.deps.meta.set(META_NAME, JSON.stringify(record)),
      () => ({
        actor,
        action: 'provider.connected',
        target: 'provider:openai',
        before: before.connected ? { admin_key: before.admin_key, base_url: before.base_url } : null,
        after: { admin_key: displayOf(record.last4), base_url: url },
      }),
    );
    return this.view();
  }

  /** The Admin API client for the connected organisation; KW_PROVIDER_NOT_CONNECTED when there is none. */
  async client(): Promise<OpenAIAdminClient> {
    const raw = await this.deps.meta.get(META_NAME);
    if (raw === null || raw === '') throw new KeywardenError('KW_PROVIDER_NOT_CONNECTED');
    if (this.cached?.raw === raw) return this.cached.client;
    const stored = JSON.parse(raw) as StoredConnection;
    const client = this.newClient(stored.baseUrl, this.deps.vault.decrypt(stored.ciphertext, AAD));
    const old = this.cached;
    this.cached = { raw, client };
    if (old) await old.client.close();
    return client;
  }

  async isConnected(): Promise<boolean> {
    return (await this.load()) !== null;
  }

  async close(): Promise<void> {
    await this.cached?.client.close();
    this.cached = null;
  }

  private async load(): Promise<StoredConnection | null> {
    const raw = await this.deps.meta.get(META_NAME);
    return raw === null || raw === '' ? null : (JSON.parse(raw) as StoredConnection);
  }

  private newClient(baseUrl: string, adminKey: string): OpenAIAdminClient {
    return new OpenAIAdminClient({
      baseUrl,
      adminKey,
      outbound: this.deps.outbound,
      ...(this.deps.outboundLookup ? { lookup: this.deps.outboundLookup } : {}),
      ...this.deps.clientOptions,
    });
  }
}
