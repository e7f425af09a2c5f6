import { z } from 'zod';
import type { AuditLog } from '../audit/index.js';
import type { KeyService } from '../admin/key-service.js';
import { maskSecret } from '../keys/index.js';
import { revokeOpenAILeaks, type OpenAILeak } from './openai/revoke-leaks.js';
import type { ProviderConnection } from './provider-connection.js';
import { REVOCATION_PAGES, providerOfSecret } from './revocation-pages.js';

export const leakBatchSchema = z
  .object({
    leaks: z
      .array(
        z
          .object({
            key: z.string().min(8).max(1000),
            /** The scanner's provider id; inferred from the key's prefix when absent. */
            provider: z.string().max(50).optional(),
            /** Where the key was found (path:line, URL); recorded in the audit log. */
            source: z.string().max(500).optional(),
          })
          .strict(),
      )
      .min(1)
      .max(1000),
    /** Report what would be done, do nothing (the default: revoking is opt-in). */
    dry_run: z.boolean().default(true),
  })
  .strict();
export type LeakBatch = z.output<typeof leakBatchSchema>;

export type LeakStatus = 'revoked' | 'would_revoke' | 'not_ours' | 'ambiguous' | 'failed' | 'manual';

export interface LeakOutcome {
  object: 'leak_outcome';
  /** Prefix and last 4 only. */
  display: string;
  provider: string;
  source: string | null;
  status: LeakStatus;
  detail: string;
  /** For keys keywarden cannot revoke itself: where a person does it. */
  revocation_url: string | null;
  key_id: string | null;
  provider_key_id: string | null;
  project_id: string | null;
  action: string | null;
}

/**
 * One entry point for leaked keys, whoever found them (scan --revoke, POST /admin/v1/leaks): keywarden virtual keys
 * are revoked here, OpenAI keys of the connected organisation at OpenAI, and the rest are reported with the page
 * where their provider revokes them.
 */
export class LeakReportService {
  constructor(
    private readonly keys: KeyService,
    private readonly connection: ProviderConnection,
    private readonly audit: AuditLog,
  ) {}

  async report(batch: LeakBatch, actor: string): Promise<LeakOutcome[]> {
    const unique = new Map<string, LeakBatch['leaks'][number]>();
    for (const leak of batch.leaks) if (!unique.has(leak.key)) unique.set(leak.key, leak);
    const outcomes = new Map<string, LeakOutcome>();
    const openai: Array<OpenAILeak & { provider: string }> = [];
    for (const leak of unique.values()) {
      const provider = leak.provider ?? providerOfSecret(leak.key);
      const base = this.outcome(leak.key, provider, leak.source ?? null);
      if (provider === 'keywarden') {
        outcomes.set(leak.key, await this.virtualKey(leak.key, leak.source ?? 'leak report', batch.dry_run, actor, base));
      } else if (provider === 'openai' && !leak.key.startsWith('sk-admin-') && (await this.connection.isConnected())) {
        openai.push({ secret: leak.key, source: leak.source ?? 'leak report', provider });
      } else {
        const why = provider === 'openai' ? (leak.key.startsWith('sk-admin-') ? 'an OpenAI Admin key: revoke it in the organisation settings' : 'no OpenAI organisation is connected') : `keywarden cannot revoke ${provider} keys`;
        outcomes.set(leak.key, { ...base, status: 'manual', detail: why, revocation_url: provider === 'openai' && leak.key.startsWith('sk-admin-') ? 'https://platform.openai.com/settings/organization/admin-keys' : (REVOCATION_PAGES[provider] ?? null) });
      }
    }
    if (openai.length > 0) {
      const results = await revokeOpenAILeaks(await this.connection.client(), openai, { dryRun: batch.dry_run, actor, audit: this.audit });
      openai.forEach((leak, i) => {
        const r = results[i];
        if (!r) return;
        outcomes.set(leak.secret, {
          ...this.outcome(leak.secret, 'openai', leak.source),
          status: r.status,
          detail: r.detail,
          revocation_url: r.status === 'revoked' || r.status === 'would_revoke' ? null : REVOCATION_PAGES.openai ?? null,
          provider_key_id: r.provider_key_id,
          project_id: r.project_id,
          action: r.action,
        });
      });
    }
    return [...unique.keys()].map((key) => outcomes.get(key)).filter((o): o is LeakOutcome => o !== undefined);
  }

  private outcome(secret: string, provider: string, source: string | null): LeakOutcome {
    return { object: 'leak_outcome', display: maskSecret(secret), provider, source, status: 'failed', detail: '', revocation_url: null, key_id: null, provider_key_id: null, project_id: null, action: null };
  }

  private async virtualKey(secret: string, source: string, dryRun: boolean, actor: string, base: LeakOutcome): Promise<LeakOutcome> {
    const result = await this.keys.reportLeak(secret, source, !dryRun, actor);
    if (!result) return { ...base, status: 'not_ours', detail: 'not a key of this gateway' };
    if (dryRun) return { ...base, key_id: result.record.id, status: result.revoked ? 'revoked' : 'would_revoke', detail: result.revoked ? 'already revoked' : 'dry run: would revoke the virtual key', action: 'revoke_virtual_key' };
    return { ...base, key_id: result.record.id, status: 'revoked', detail: 'virtual key revoked', action: 'revoke_virtual_key' };
  }
}
