import type { UsageRecord } from '../../store/index.js';
import type { UsageResult } from './admin-api-types.js';
import { COMPLETION_ENDPOINTS, compareUsage, type Tolerance, type UpstreamUsageComparison, type VaultedProviderKey } from './reconcile.js';

/** A vaulted key found at the provider, with keywarden's id for it (uk_…), which usage records name. */
export interface VaultedProviderKeyById extends VaultedProviderKey {
  keyId: string;
}

interface Totals {
  tokens: number;
  requests: number;
}

const add = (map: Map<string, Totals>, id: string, r: UsageRecord): void => {
  const sum = map.get(id) ?? { tokens: 0, requests: 0 };
  sum.tokens += r.promptTokens + r.completionTokens;
  sum.requests += 1;
  map.set(id, sum);
};
const pair = (upstreamId: string, keyId: string): string => `${upstreamId}\u0000${keyId}`;

/**
 * Forwarded usage per upstream key (records name the key they were sent with), plus, per upstream, the usage of
 * records that name no key (written before keys were recorded). Same filter as per upstream: answered
 * completion-type requests only.
 */
export function keywardenUsageByUpstreamKey(records: readonly UsageRecord[]): { byKey: Map<string, Totals>; unattributed: Map<string, Totals>; byUpstream: Map<string, Totals> } {
  const byKey = new Map<string, Totals>();
  const unattributed = new Map<string, Totals>();
  const byUpstream = new Map<string, Totals>();
  for (const r of records) {
    if (r.upstreamId === null || r.status >= 400 || !COMPLETION_ENDPOINTS.has(r.endpoint)) continue;
    add(byUpstream, r.upstreamId, r);
    if (r.upstreamKeyId) add(byKey, pair(r.upstreamId, r.upstreamKeyId), r);
    else add(unattributed, r.upstreamId, r);
  }
  return { byKey, unattributed, byUpstream };
}

/**
 * Compares the provider's usage with keywarden's per provider key, so a leak of one key of a multi-key upstream is
 * named precisely and not hidden by the other key's headroom. An upstream whose records in the window do not all
 * name their key (older records) and that has several keys is compared as a whole, as before; with one key,
 * unattributed records are that key's.
 */
export function compareUsageByKey(
  vaulted: readonly VaultedProviderKeyById[],
  providerUsage: ReadonlyMap<string, UsageResult>,
  records: readonly UsageRecord[],
  tolerance: Tolerance,
): UpstreamUsageComparison[] {
  const usage = keywardenUsageByUpstreamKey(records);
  const byUpstream = new Map<string, VaultedProviderKeyById[]>();
  for (const key of vaulted) byUpstream.set(key.upstreamId, [...(byUpstream.get(key.upstreamId) ?? []), key]);
  const rows: UpstreamUsageComparison[] = [];
  for (const [upstreamId, keys] of byUpstream) {
    const loose = usage.unattributed.get(upstreamId);
    if (loose && keys.length > 1) {
      rows.push(...compareUsage(keys, providerUsage, usage.byUpstream, tolerance));
      continue;
    }
    for (const key of keys) {
      const own = usage.byKey.get(pair(upstreamId, key.keyId)) ?? { tokens: 0, requests: 0 };
      const forwarded = { tokens: own.tokens + (loose?.tokens ?? 0), requests: own.requests + (loose?.requests ?? 0) };
      const [row] = compareUsage([key], providerUsage, new Map([[upstreamId, forwarded]]), tolerance);
      if (row) rows.push({ ...row, upstreamKeyId: key.keyId });
    }
  }
  return rows;
}
