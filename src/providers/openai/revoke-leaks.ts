import type { AuditLog } from '../../audit/index.js';
import { KeywardenError, asKeywardenError } from '../../errors/index.js';
import { maskSecret } from '../../keys/index.js';
import type { OpenAIAdminClient } from './admin-client.js';
import { listOrganisationKeys, type LocatedKey } from './inventory.js';
import { matchesRedacted, parseRedacted } from './redacted-match.js';

export type OpenAIRevocationStatus = 'revoked' | 'would_revoke' | 'not_ours' | 'ambiguous' | 'failed';

export interface OpenAIRevocationResult {
  status: OpenAIRevocationStatus;
  detail: string;
  provider_key_id: string | null;
  project_id: string | null;
  /** What was (or would be) deleted: the key itself, or the service account that owns it. */
  action: 'delete_key' | 'delete_service_account' | null;
}

export interface OpenAILeak {
  secret: string;
  source: string;
}

/**
 * Revokes leaked OpenAI keys that belong to the connected organisation. A leaked secret is identified by the
 * keys' `redacted_value` (prefix and last characters) and only when exactly one key of the organisation fits:
 * none is "not ours", several are "ambiguous", and in both cases nothing is done. The single candidate is then
 * confirmed with the leaked key itself (its `openai-project`); a key that is dead or belongs elsewhere is "not ours". A key owned by a service
 * account is revoked by deleting the service account (OpenAI deletes its keys with it). Every step is audited.
 */
export async function revokeOpenAILeaks(
  client: OpenAIAdminClient,
  leaks: readonly OpenAILeak[],
  options: { dryRun: boolean; actor: string; audit: AuditLog },
): Promise<OpenAIRevocationResult[]> {
  if (leaks.length === 0) return [];
  let organisation: LocatedKey[];
  try {
    organisation = (await listOrganisationKeys(client)).keys;
  } catch (err) {
    const reason = asKeywardenError(err).message;
    return leaks.map(() => ({ status: 'failed', detail: `the organisation's keys could not be listed: ${reason}`, provider_key_id: null, project_id: null, action: null }));
  }
  const patterns = organisation.map((located) => ({ located, pattern: parseRedacted(located.key.redacted_value) }));
  const results: OpenAIRevocationResult[] = [];
  for (const leak of leaks) {
    const candidates = patterns.filter(({ pattern }) => matchesRedacted(leak.secret, pattern)).map(({ located }) => located);
    const result = await revokeOne(client, leak, candidates, options);
    await options.audit.append({
      actor: options.actor,
      action: 'security.leak_reported',
      target: result.provider_key_id ? `provider_key:openai:${result.provider_key_id}` : 'provider:openai',
      after: { display: maskSecret(leak.secret), source: leak.source, status: result.status, detail: result.detail, dry_run: options.dryRun },
    });
    results.push(result);
  }
  return results;
}

async function revokeOne(
  client: OpenAIAdminClient,
  leak: OpenAILeak,
  candidates: readonly LocatedKey[],
  options: { dryRun: boolean; actor: string; audit: AuditLog },
): Promise<OpenAIRevocationResult> {
  const none = { provider_key_id: null, project_id: null, action: null };
  if (candidates.length === 0) return { status: 'not_ours', detail: 'no key of the connected organisation matches it', ...none };
  if (candidates.length > 1) {
    return { status: 'ambiguous', detail: `${candidates.length} keys of the organisation show the same redacted value; nothing was done`, ...none };
  }
  const { key, projectId } = candidates[0] as LocatedKey;
  // A redacted value shows only a few characters: a key of another organisation can look exactly like one of
  // ours. The leaked key itself says where it belongs; when it disagrees, nothing of ours is touched.
  const probe = await client.probeKeyProject(leak.secret);
  if (probe.kind === 'dead') return { status: 'not_ours', detail: 'OpenAI refuses this key (401): it is not live, nothing to revoke', ...none };
  if (probe.kind === 'project' && probe.projectId !== projectId) {
    return { status: 'not_ours', detail: 'it looks like a key of this organisation but belongs to another project or organisation', ...none };
  }
  const accountId = key.owner?.type === 'service_account' || (!key.owner?.type && key.owner?.service_account) ? (key.owner?.service_account?.id ?? null) : null;
  const action = accountId ? 'delete_service_account' : 'delete_key';
  const found = { provider_key_id: key.id, project_id: projectId, action } as const;
  if (options.dryRun) return { status: 'would_revoke', detail: `dry run: would ${action === 'delete_key' ? 'delete the key' : `delete service account ${accountId ?? ''}`}`, ...found };
  const target = `provider_key:openai:${key.id}`;
  const step = { display: maskSecret(leak.secret), project_id: projectId, provider_key_id: key.id, service_account_id: accountId, action, source: leak.source };
  await options.audit.append({ actor: options.actor, action: 'provider.key_revoke_started', target, after: step });
  try {
    const deleted = accountId ? await client.deleteServiceAccount(projectId, accountId) : await client.deleteProjectApiKey(projectId, key.id);
    if (!deleted) throw new Error('the provider did not confirm the deletion');
  } catch (err) {
    // Only KeywardenError messages are safe to show; anything else is summarised.
    const reason = err instanceof KeywardenError ? err.message : 'the provider did not confirm the deletion';
    await options.audit.append({ actor: options.actor, action: 'provider.key_revoke_failed', target, after: { ...step, reason } });
    return { status: 'failed', detail: reason, ...found };
  }
  await options.audit.append({ actor: options.actor, action: 'provider.key_revoked', target, after: step });
  return { status: 'revoked', detail: accountId ? `service account ${accountId} deleted with its keys` : 'key deleted at OpenAI', ...found };
}
