import { describe, expect, it } from 'vitest';
import type { UsageRecord } from '../../store/index.js';
import { compareUsage, keywardenUsageByUpstream } from './reconcile.js';
import { compareUsageByKey } from './reconcile-per-key.js';

const tolerance = { toleranceTokens: 100, toleranceRatio: 0.1, toleranceRequests: 2 };
const vaulted = [
  { providerKeyId: 'key_a', redactedValue: 'sk-proj-a...aaaa', upstreamId: 'ups_1', upstreamName: 'main' },
  { providerKeyId: 'key_b', redactedValue: 'sk-proj-b...bbbb', upstreamId: 'ups_1', upstreamName: 'main' },
];
const usage = (input: number, output: number, requests: number) => ({ input_tokens: input, output_tokens: output, num_model_requests: requests });

function record(patch: Partial<UsageRecord>): UsageRecord {
  return {
    id: Math.random().toString(36), ts: 0, keyId: 'key_x', upstreamId: 'ups_1', endpoint: '/v1/chat/completions', model: 'gpt-4o-mini', status: 200, stream: false,
    promptTokens: 10, cachedTokens: 0, completionTokens: 5, reasoningTokens: 0, costUsd: 0, priceMissing: false, latencyMs: 1, clientIp: '127.0.0.1', errorCode: null, ...patch,
  };
}

describe('usage comparison', () => {
  it('counts only answered completion-type requests that reached an upstream', () => {
    const totals = keywardenUsageByUpstream([
      record({}),
      record({ status: 429, errorCode: 'rate_limited' }),
      record({ upstreamId: null }),
      record({ endpoint: '/v1/responses', promptTokens: 1, completionTokens: 1 }),
      // Embeddings are not in the provider's completions usage: counting them would hide a leak.
      record({ endpoint: '/v1/embeddings', promptTokens: 5_000, completionTokens: 0 }),
    ]);
    expect(totals.get('ups_1')).toEqual({ tokens: 17, requests: 2 });
  });

  it('sums every provider key of an upstream and flags usage beyond the tolerance only', () => {
    const forwarded = new Map([['ups_1', { tokens: 1_000, requests: 10 }]]);
    const within = compareUsage(vaulted, new Map([['key_a', usage(600, 400, 6)], ['key_b', usage(90, 10, 6)]]), forwarded, tolerance);
    expect(within[0]).toMatchObject({ excessTokens: 100, excessRequests: 2, mismatch: false });
    const beyondTokens = compareUsage(vaulted, new Map([['key_a', usage(600, 400, 6)], ['key_b', usage(91, 10, 4)]]), forwarded, tolerance);
    expect(beyondTokens[0]?.mismatch).toBe(true);
    const beyondRequests = compareUsage(vaulted, new Map([['key_a', usage(500, 500, 13)]]), forwarded, tolerance);
    expect(beyondRequests[0]?.mismatch).toBe(true);
    expect(beyondRequests[0]?.providerKeys.map((k) => k.id)).toEqual(['key_a', 'key_b']);
  });

  it('treats provider usage on a key keywarden never forwarded on as a mismatch, and less usage as none', () => {
    expect(compareUsage(vaulted, new Map([['key_b', usage(5_000, 0, 50)]]), new Map(), tolerance)[0]?.mismatch).toBe(true);
    expect(compareUsage(vaulted, new Map(), new Map([['ups_1', { tokens: 9_999, requests: 99 }]]), tolerance)[0]?.mismatch).toBe(false);
  });
});

describe('usage comparison per key', () => {
  const byId = vaulted.map((v, i) => ({ ...v, keyId: `uk_${i}` }));
  it('compares each key with the records that name it', () => {
    const rows = compareUsageByKey(byId, new Map([['key_a', usage(10, 5, 1)], ['key_b', usage(5_000, 0, 40)]]), [record({ upstreamKeyId: 'uk_0' }), record({ upstreamKeyId: 'uk_1' })], tolerance);
    expect(rows.map((r) => [r.upstreamKeyId, r.mismatch])).toEqual([['uk_0', false], ['uk_1', true]]);
    expect(rows[1]?.providerKeys.map((k) => k.id)).toEqual(['key_b']);
  });

  it('falls back to the whole upstream when records name no key and the upstream has several', () => {
    const rows = compareUsageByKey(byId, new Map([['key_a', usage(10, 5, 1)], ['key_b', usage(10, 5, 1)]]), [record({}), record({ upstreamKeyId: 'uk_0' })], tolerance);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ keywarden: { tokens: 30, requests: 2 }, provider: { tokens: 30, requests: 2 }, mismatch: false });
    expect(rows[0]?.upstreamKeyId).toBeUndefined();
    // One key: records without a key are that key's.
    const single = compareUsageByKey([byId[0] as (typeof byId)[number]], new Map([['key_a', usage(10, 5, 1)]]), [record({})], tolerance);
    expect(single[0]).toMatchObject({ upstreamKeyId: 'uk_0', mismatch: false, keywarden: { requests: 1 } });
  });
});
