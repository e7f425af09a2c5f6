import { asKeywardenError } from '../errors/index.js';
import { buildInventory, listOrganisationKeys } from '../providers/openai/inventory.js';
import type { ProviderConnection } from '../providers/provider-connection.js';
import { loadVaultedKeys } from '../providers/vaulted-keys.js';
import type { Store, UpstreamRecord } from '../store/index.js';
import type { Vault } from '../vault/index.js';
import { toReport, type DoctorFinding, type DoctorReport } from './finding.js';
import { checkAdminTokens, checkKeys, checkUpstreamAge, keyUseFrom } from './key-checks.js';
import { checkMasterKey } from './master-key-check.js';

export interface DoctorDeps {
  store: Store;
  vault: Vault;
  connection: ProviderConnection;
  dataDir: string;
  env: NodeJS.ProcessEnv;
  /** Upstream keys older than this are past their rotation age (monitor.detectors.rotation.maxAgeMs). */
  rotationMaxAgeMs: number;
  /** An upstream's own rotation period (its link or the config), which replaces the general maximum age. */
  rotationPeriodOf?: (upstream: UpstreamRecord) => Promise<number | null>;
  now: () => number;
}

const DAY_MS = 86_400_000;

async function upstreamPeriods(upstreams: readonly UpstreamRecord[], deps: DoctorDeps): Promise<Map<string, { maxAgeMs: number; scheduled: boolean }>> {
  const out = new Map<string, { maxAgeMs: number; scheduled: boolean }>();
  for (const upstream of upstreams) {
    const own = deps.rotationPeriodOf ? await deps.rotationPeriodOf(upstream) : null;
    out.set(upstream.id, own === null ? { maxAgeMs: deps.rotationMaxAgeMs, scheduled: false } : { maxAgeMs: own, scheduled: true });
  }
  return out;
}

/** `keywarden doctor`: the checks that need no provider first, then the provider's (shadow keys) when connected. */
export async function runDoctor(deps: DoctorDeps): Promise<DoctorReport> {
  const now = deps.now();
  const [keys, tokens, upstreams, used] = await Promise.all([
    deps.store.keys.list(),
    deps.store.adminTokens.list(),
    deps.store.upstreams.list(),
    deps.store.usage.usedScopes(now - 30 * DAY_MS),
  ]);
  const findings: DoctorFinding[] = [
    ...(await checkMasterKey(deps.dataDir, deps.env)),
    ...checkAdminTokens(tokens),
    ...checkKeys(keys, keyUseFrom(used), now),
    ...checkUpstreamAge(upstreams, await upstreamPeriods(upstreams, deps), now),
  ];
  const skipped: string[] = [];
  if (await deps.connection.isConnected()) {
    try {
      const client = await deps.connection.client();
      const [{ keys: located, serviceAccounts }, vaulted] = await Promise.all([listOrganisationKeys(client), loadVaultedKeys(deps.store, deps.vault)]);
      for (const key of buildInventory(located, serviceAccounts, vaulted, now).keys.filter((k) => k.status === 'shadow')) {
        findings.push({
          check: 'provider_shadow_key',
          severity: 'high',
          subject: `provider_key:openai:${key.id}`,
          message: `OpenAI key ${key.redacted_value} (${key.name ?? 'unnamed'}, project ${key.project_name}, owner ${key.owner ?? key.owner_type}) is not behind keywarden.`,
          fix: `Vault it (keywarden upstreams add --key-env VAR …) and hand out kw_ keys, or delete it at ${'https://platform.openai.com/api-keys'}.`,
        });
      }
    } catch (err) {
      skipped.push(`provider checks: ${asKeywardenError(err).message}`);
    }
    skipped.push('provider spend limits: OpenAI documents no Admin API to read them; set them at https://platform.openai.com/settings/organization/limits');
  } else {
    skipped.push('provider checks: no provider connected (keywarden providers connect openai --admin-key-env VAR)');
  }
  return toReport(findings, skipped);
}
