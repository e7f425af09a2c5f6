import { z } from 'zod';
import type { AuditLog } from '../../audit/index.js';
import type { UpstreamService } from '../../admin/upstream-service.js';
import { KeywardenError } from '../../errors/index.js';
import { upstreamKeyAad } from '../../gateway/upstream-registry.js';
import { maskSecret } from '../../keys/index.js';
import type { UpstreamRecord } from '../../store/index.js';
import { parseDuration } from '../../util/duration.js';
import type { Vault } from '../../vault/index.js';
import { listOrganisationKeys } from '../openai/inventory.js';
import { matchesRedacted, parseRedacted } from '../openai/redacted-match.js';
import type { ProviderConnection } from '../provider-connection.js';
import { linkView, type UpstreamLinks, type UpstreamProviderLink } from './upstream-link.js';

const MIN_ROTATION_MS = 3_600_000;
const providerId = z.string().min(1).max(200).regex(/^[\w.-]+$/, 'an id such as proj_… or svc_acct_…');

/** `30d`, `12h`, …, or `off`/null to stop scheduled rotation. At least an hour: a shorter period is a mistake. */
export const rotationSchema = z
  .union([z.string().min(1).max(20), z.null()])
  .transform((value, ctx) => {
    if (value === null || value === 'off') return null;
    const ms = parseDuration(value);
    if (ms === null || ms < MIN_ROTATION_MS) {
      ctx.addIssue({ code: 'custom', message: 'rotation is a duration of at least 1h (e.g. 30d), or "off"' });
      return z.NEVER;
    }
    return ms;
  });

/** PUT /upstreams/:ref/provider */
export const linkUpstreamSchema = z
  .object({ project_id: providerId.optional(), service_account_id: providerId.optional(), rotation: rotationSchema.optional() })
  .strict()
  .refine((v) => (v.project_id === undefined) === (v.service_account_id === undefined), { message: 'give project_id and service_account_id together, or neither (discovered from the vaulted key)' });
export type LinkUpstreamInput = z.output<typeof linkUpstreamSchema>;

/** POST /upstreams/service-accounts: a new service account at the provider, its key vaulted as a new upstream. */
export const serviceAccountUpstreamSchema = z
  .object({
    name: z.string().min(1).max(100).regex(/^[\w.-]+$/, 'use letters, digits, . _ -'),
    project_id: providerId,
    service_account_name: z.string().min(1).max(200).optional(),
    provider: z.enum(['openai', 'openai-compatible']).default('openai'),
    base_url: z.string().url().optional(),
    default: z.boolean().optional(),
    rotation: rotationSchema.optional(),
  })
  .strict();
export type ServiceAccountUpstreamInput = z.output<typeof serviceAccountUpstreamSchema>;

export interface UpstreamLinkingDeps {
  upstreams: UpstreamService;
  links: UpstreamLinks;
  connection: ProviderConnection;
  vault: Vault;
  audit: AuditLog;
  now: () => number;
}

/** Ties upstreams to the OpenAI service account their keys belong to (required for rotation at the provider). */
export class UpstreamLinking {
  constructor(private readonly deps: UpstreamLinkingDeps) {}

  async view(ref: string): Promise<Record<string, unknown>> {
    const record = await this.deps.upstreams.resolve(ref);
    return linkView(record.id, await this.deps.links.get(record.id));
  }

  /**
   * Links (or re-links) an upstream, and/or sets its rotation period. Without ids, the service account is found
   * from the vaulted keys themselves: each must match exactly one service-account key of the organisation, all of
   * the same account. With ids, the account must exist in that project.
   */
  async link(ref: string, input: LinkUpstreamInput, actor: string): Promise<Record<string, unknown>> {
    const record = await this.deps.upstreams.resolve(ref);
    const current = await this.deps.links.get(record.id);
    let where: { projectId: string; serviceAccountId: string } | null = current;
    if (input.project_id !== undefined && input.service_account_id !== undefined) {
      where = await this.checkAccount(input.project_id, input.service_account_id);
    } else if (!current) {
      where = await this.discover(record);
    }
    if (!where) throw new KeywardenError('KW_CONFLICT', { message: 'Upstream is not linked.' });
    const link: UpstreamProviderLink = {
      provider: 'openai',
      projectId: where.projectId,
      serviceAccountId: where.serviceAccountId,
      rotationMs: input.rotation !== undefined ? input.rotation : (current?.rotationMs ?? null),
      pendingDeletes: current?.pendingDeletes ?? [],
      linkedAt: current?.linkedAt ?? this.deps.now(),
    };
    await this.deps.audit.withAudit(
      () => this.deps.links.set(record.id, link),
      () => ({ actor, action: 'provider.upstream_linked', target: `upstream:${record.id}`, before: linkView(record.id, current), after: linkView(record.id, link) }),
    );
    return linkView(record.id, link);
  }

  async unlink(ref: string, actor: string): Promise<Record<string, unknown>> {
    const record = await this.deps.upstreams.resolve(ref);
    const current = await this.deps.links.get(record.id);
    await this.deps.audit.withAudit(
      () => this.deps.links.clear(record.id),
      () => ({ actor, action: 'provider.upstream_linked', target: `upstream:${record.id}`, before: linkView(record.id, current), after: linkView(record.id, null) }),
    );
    return linkView(record.id, null);
  }

  /**
   * `upstreams add --service-account`: creates the account (with its first key) at the provider, then the upstream
   * holding that key, linked. If the upstream cannot be added, the account is deleted again.
   */
  async createWithServiceAccount(input: ServiceAccountUpstreamInput, actor: string): Promise<{ upstream: UpstreamRecord; link: Record<string, unknown> }> {
    const client = await this.deps.connection.client();
    const accountName = input.service_account_name ?? `keywarden-${input.name}`;
    const account = await client.createServiceAccount(input.project_id, accountName);
    const where = { project_id: input.project_id, service_account_id: account.id, provider_key_id: account.api_key.id, display: maskSecret(account.api_key.value) };
    await this.deps.audit.append({ actor, action: 'provider.service_account_created', target: `provider:openai:${input.project_id}`, after: { ...where, name: accountName, upstream: input.name } });
    let upstream: UpstreamRecord;
    try {
      upstream = await this.deps.upstreams.add(
        {
          name: input.name,
          provider: input.provider,
          keys: [account.api_key.value],
          ...(input.base_url ? { base_url: input.base_url } : {}),
          ...(input.default ? { default: true } : {}),
        },
        actor,
        { createdAt: this.deps.now(), providerKeyId: account.api_key.id },
      );
    } catch (err) {
      await client.deleteServiceAccount(input.project_id, account.id).catch(() => false);
      throw err;
    }
    const link: UpstreamProviderLink = {
      provider: 'openai',
      projectId: input.project_id,
      serviceAccountId: account.id,
      rotationMs: input.rotation ?? null,
      pendingDeletes: [],
      linkedAt: this.deps.now(),
    };
    await this.deps.audit.withAudit(
      () => this.deps.links.set(upstream.id, link),
      () => ({ actor, action: 'provider.upstream_linked', target: `upstream:${upstream.id}`, after: linkView(upstream.id, link) }),
    );
    return { upstream, link: linkView(upstream.id, link) };
  }

  private async checkAccount(projectId: string, serviceAccountId: string): Promise<{ projectId: string; serviceAccountId: string }> {
    const client = await this.deps.connection.client();
    const accounts = await client.listServiceAccounts(projectId);
    if (!accounts.some((a) => a.id === serviceAccountId)) {
      throw new KeywardenError('KW_VALIDATION', { message: `Project ${projectId} has no service account ${serviceAccountId}.`, param: 'service_account_id' });
    }
    return { projectId, serviceAccountId };
  }

  private async discover(record: UpstreamRecord): Promise<{ projectId: string; serviceAccountId: string }> {
    const client = await this.deps.connection.client();
    const { keys } = await listOrganisationKeys(client);
    const patterns = keys.map((located) => ({ located, pattern: parseRedacted(located.key.redacted_value) }));
    const owners = new Set<string>();
    let found: { projectId: string; serviceAccountId: string } | null = null;
    for (const key of record.keys) {
      const secret = this.deps.vault.decrypt(key.ciphertext, upstreamKeyAad(record.id, key.id));
      const matches = patterns.filter(({ pattern }) => matchesRedacted(secret, pattern)).map(({ located }) => located);
      const match = matches[0];
      if (matches.length !== 1 || !match) {
        throw new KeywardenError('KW_CONFLICT', {
          message: `Key …${key.last4} of upstream "${record.name}" matches ${matches.length} keys of the organisation; link it with --project and --service-account.`,
        });
      }
      const accountId = match.key.owner?.service_account?.id;
      if (!accountId) {
        throw new KeywardenError('KW_CONFLICT', {
          message: `Key …${key.last4} of upstream "${record.name}" belongs to a user, not a service account: keywarden can rotate only service-account keys (upstreams add --service-account creates one).`,
        });
      }
      owners.add(`${match.projectId}\u0000${accountId}`);
      found = { projectId: match.projectId, serviceAccountId: accountId };
    }
    if (!found || owners.size !== 1) throw new KeywardenError('KW_CONFLICT', { message: `The keys of upstream "${record.name}" belong to ${owners.size} service accounts; link one with --project and --service-account.` });
    return found;
  }
}
