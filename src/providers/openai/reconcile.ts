import type { UsageRecord } from '../../store/index.js';
import type { UsageResult } from './admin-api-types.js';

/** What was used on one upstream in one window: at the provider (its vaulted keys) and through keywarden. */
export interface UpstreamUsageComparison {
  upstreamId: string;
  upstreamName: string;
  /** The provider keys of this upstream found in the organisation: id and redacted value. */
  providerKeys: Array<{ id: string; redacted_value: string }>;
  provider: { tokens: number; requests: number };
  keywarden: { tokens: number; requests: number };
  excessTokens: number;
  excessRequests: number;
  mismatch: boolean;
  /** Set when compared per key (reconcile-per-key.ts): the vaulted key (uk_…) the row is about. */
  upstreamKeyId?: string;
}

export interface Tolerance {
  toleranceTokens: number;
  toleranceRatio: number;
  toleranceRequests: number;
}

export interface VaultedProviderKey {
  providerKeyId: string;
  redactedValue: string;
  upstreamId: string;
  upstreamName: string;
}

/** The endpoints OpenAI reports under `usage/completions` (embeddings, images, audio have usage endpoints of their own). */
export const COMPLETION_ENDPOINTS: ReadonlySet<string> = new Set(['/v1/chat/completions', '/v1/completions', '/v1/responses']);

/**
 * Forwarded usage per upstream, on the endpoints the provider's completions usage covers (counting embeddings
 * here would hide usage at the provider). Only answered requests count: the provider bills nothing for a
 * request it refused or that never reached it (gateway denials carry an error code and status ≥ 400).
 */
export function keywardenUsageByUpstream(records: readonly UsageRecord[]): Map<string, { tokens: number; requests: number }> {
  const out = new Map<string, { tokens: number; requests: number }>();
  for (const r of records) {
    if (r.upstreamId === null || r.status >= 400 || !COMPLETION_ENDPOINTS.has(r.endpoint)) continue;
    const sum = out.get(r.upstreamId) ?? { tokens: 0, requests: 0 };
    sum.tokens += r.promptTokens + r.completionTokens;
    sum.requests += 1;
    out.set(r.upstreamId, sum);
  }
  return out;
}

/**
 * Compares, per upstream, the provider's usage on its vaulted keys with what keywarden forwarded in the same
 * window. Upstreams are compared as a whole because the gateway spreads requests over an upstream's keys; the
 * alert names every provider key of the upstream. Usage beyond the tolerance means the real key was used
 * behind the gateway's back.
 */
export function compareUsage(
  vaulted: readonly VaultedProviderKey[],
  providerUsage: ReadonlyMap<string, UsageResult>,
  forwarded: ReadonlyMap<string, { tokens: number; requests: number }>,
  tolerance: Tolerance,
): UpstreamUsageComparison[] {
  const byUpstream = new Map<string, UpstreamUsageComparison>();
  for (const key of vaulted) {
    let row = byUpstream.get(key.upstreamId);
    if (!row) {
      const kw = forwarded.get(key.upstreamId) ?? { tokens: 0, requests: 0 };
      row = {
        upstreamId: key.upstreamId,
        upstreamName: key.upstreamName,
        providerKeys: [],
        provider: { tokens: 0, requests: 0 },
        keywarden: { tokens: kw.tokens, requests: kw.requests },
        excessTokens: 0,
        excessRequests: 0,
        mismatch: false,
      };
      byUpstream.set(key.upstreamId, row);
    }
    row.providerKeys.push({ id: key.providerKeyId, redacted_value: key.redactedValue });
    const used = providerUsage.get(key.providerKeyId);
    if (used) {
      row.provider.tokens += used.input_tokens + used.output_tokens;
      row.provider.requests += used.num_model_requests;
    }
  }
  for (const row of byUpstream.values()) {
    row.excessTokens = row.provider.tokens - row.keywarden.tokens;
    row.excessRequests = row.provider.requests - row.keywarden.requests;
    const tokenAllowance = Math.max(tolerance.toleranceTokens, tolerance.toleranceRatio * row.keywarden.tokens);
    const requestAllowance = Math.max(tolerance.toleranceRequests, tolerance.toleranceRatio * row.keywarden.requests);
    row.mismatch = row.excessTokens > tokenAllowance || row.excessRequests > requestAllowance;
  }
  return [...byUpstream.values()];
}
