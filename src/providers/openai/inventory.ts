import type { ProjectApiKey } from './admin-api-types.js';
import type { OpenAIAdminClient } from './admin-client.js';
import { matchesRedacted, parseRedacted } from './redacted-match.js';
import type { VaultedKey } from '../vaulted-keys.js';

const DAY_MS = 86_400_000;

export interface InventoryKey {
  object: 'provider_key';
  id: string;
  project_id: string;
  project_name: string;
  name: string | null;
  redacted_value: string;
  owner_type: 'user' | 'service_account' | 'unknown';
  /** A user's email (or name), or the service account's name. */
  owner: string | null;
  service_account_id: string | null;
  created_at: string | null;
  age_days: number | null;
  last_used_at: string | null;
  /** `vaulted`: this key is sealed behind keywarden; `shadow`: it lives at the provider only. */
  status: 'vaulted' | 'shadow';
  upstream: { id: string; name: string; key_id: string } | null;
}

export interface InventoryServiceAccount {
  object: 'provider_service_account';
  id: string;
  project_id: string;
  name: string;
  key_count: number;
}

export interface Inventory {
  keys: InventoryKey[];
  service_accounts: InventoryServiceAccount[];
}

/** A provider key together with its project, as the revocation step needs it. */
export interface LocatedKey {
  projectId: string;
  projectName: string;
  key: ProjectApiKey;
}

const iso = (seconds: number | null | undefined): string | null => (typeof seconds === 'number' ? new Date(seconds * 1000).toISOString() : null);

/** Every project key of the organisation (user and service-account owned), with its project. */
export async function listOrganisationKeys(client: OpenAIAdminClient): Promise<{ keys: LocatedKey[]; serviceAccounts: InventoryServiceAccount[] }> {
  const keys: LocatedKey[] = [];
  const serviceAccounts: InventoryServiceAccount[] = [];
  for (const project of await client.listProjects()) {
    const projectKeys = await client.listProjectApiKeys(project.id);
    for (const key of projectKeys) keys.push({ projectId: project.id, projectName: project.name, key });
    for (const account of await client.listServiceAccounts(project.id)) {
      const keyCount = projectKeys.filter((k) => k.owner?.service_account?.id === account.id).length;
      serviceAccounts.push({ object: 'provider_service_account', id: account.id, project_id: project.id, name: account.name, key_count: keyCount });
    }
  }
  return { keys, serviceAccounts };
}

/** The vaulted key a provider key is, when exactly one vaulted secret fits its redacted value. */
export function findVaulted(key: ProjectApiKey, vaulted: readonly VaultedKey[]): VaultedKey | null {
  const pattern = parseRedacted(key.redacted_value);
  const matches = vaulted.filter((v) => matchesRedacted(v.secret, pattern));
  return matches.length === 1 ? (matches[0] ?? null) : null;
}

export function buildInventory(located: readonly LocatedKey[], serviceAccounts: InventoryServiceAccount[], vaulted: readonly VaultedKey[], now: number): Inventory {
  const keys = located.map(({ projectId, projectName, key }): InventoryKey => {
    const match = findVaulted(key, vaulted);
    const owner = key.owner;
    const ownerType = owner?.type ?? (owner?.service_account ? 'service_account' : owner?.user ? 'user' : 'unknown');
    return {
      object: 'provider_key',
      id: key.id,
      project_id: projectId,
      project_name: projectName,
      name: key.name ?? null,
      redacted_value: key.redacted_value,
      owner_type: ownerType,
      owner: ownerType === 'service_account' ? (owner?.service_account?.name ?? null) : (owner?.user?.email ?? owner?.user?.name ?? null),
      service_account_id: owner?.service_account?.id ?? null,
      created_at: iso(key.created_at),
      age_days: typeof key.created_at === 'number' ? Math.floor((now - key.created_at * 1000) / DAY_MS) : null,
      last_used_at: iso(key.last_used_at),
      status: match ? 'vaulted' : 'shadow',
      upstream: match ? { id: match.upstreamId, name: match.upstreamName, key_id: match.keyId } : null,
    };
  });
  return { keys, service_accounts: serviceAccounts };
}
