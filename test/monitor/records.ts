import type { UsageRecord } from '../../src/store/index.js';

let counter = 0;

/** A successful chat completion by default; override what the test is about. */
export function usage(overrides: Partial<UsageRecord> = {}): UsageRecord {
  counter++;
  return {
    id: `u${counter}`,
    ts: Date.UTC(2025, 5, 2, 12),
    keyId: 'key_a',
    upstreamId: 'ups_1',
    endpoint: '/v1/chat/completions',
    model: 'gpt-4o-mini',
    status: 200,
    stream: false,
    promptTokens: 100,
    cachedTokens: 0,
    completionTokens: 20,
    reasoningTokens: 0,
    costUsd: 0.001,
    priceMissing: false,
    latencyMs: 250,
    clientIp: '198.51.100.7',
    errorCode: null,
    ...overrides,
  };
}
