import { type UsageRecord } from '../types.js';

/** The usage table's row shape (and its mapping to records): one definition for the SQLite and the PostgreSQL store. */

export interface UsageRow {
  id: string;
  ts: number;
  key_id: string;
  upstream_id: string | null;
  endpoint: string;
  model: string | null;
  status: number;
  stream: number;
  prompt_tokens: number;
  cached_tokens: number;
  completion_tokens: number;
  reasoning_tokens: number;
  cost_usd: number | null;
  price_missing: number;
  latency_ms: number;
  client_ip: string;
  error_code: string | null;
  upstream_key_id: string | null;
}

export function fromRow(row: UsageRow): UsageRecord {
  return {
    id: row.id,
    ts: row.ts,
    keyId: row.key_id,
    upstreamId: row.upstream_id,
    endpoint: row.endpoint,
    model: row.model,
    status: row.status,
    stream: row.stream === 1,
    promptTokens: row.prompt_tokens,
    cachedTokens: row.cached_tokens,
    completionTokens: row.completion_tokens,
    reasoningTokens: row.reasoning_tokens,
    costUsd: row.cost_usd,
    priceMissing: row.price_missing === 1,
    latencyMs: row.latency_ms,
    clientIp: row.client_ip,
    errorCode: row.error_code,
    ...(row.upstream_key_id === null ? {} : { upstreamKeyId: row.upstream_key_id }),
  };
}
