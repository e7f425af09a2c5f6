// The admin API shapes the console reads (a subset of each; see src/admin/*-view.ts on the server).
import type { ModelRule } from './screens/key-rules';

export type { ModelRule };
export interface Budget {
  usd: number;
  period: 'day' | 'week' | 'month' | 'lifetime';
}
export interface KeyLimits {
  rpm?: number;
  rpd?: number;
  tpm?: number;
  concurrency?: number;
  budgets?: Budget[];
  model_rules?: ModelRule[];
}
export interface VirtualKey {
  id: string;
  name: string;
  display: string;
  status: 'active' | 'revoked' | 'expired' | 'suspended';
  upstream_id: string | null;
  project_id: string | null;
  models: string[];
  endpoints: string[];
  ip_allowlist: string[];
  limits: KeyLimits;
  metadata: Record<string, string>;
  created_at: string;
  expires_at: string | null;
  canary: boolean;
  last_used_at?: string | null;
  key?: string;
}
export interface BudgetStatus {
  period: string;
  limit_usd?: number;
  usd?: number;
  spent_usd?: number;
  remaining_usd?: number;
  [field: string]: unknown;
}
export interface Upstream {
  id: string;
  name: string;
  provider: string;
  base_url: string;
  default: boolean;
  keys: { id: string; display: string }[];
  created_at: string;
}
export interface Alert {
  id: string;
  detector: string;
  severity: string;
  title: string;
  message: string;
  key_id: string | null;
  key_name: string | null;
  created_at: string;
  last_seen_at: string;
  occurrences: number;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
}
export interface Delivery {
  id: string;
  alert_id: string;
  sink: string;
  status: string;
  attempts: number;
}
export interface AuditLine {
  seq: number;
  ts: number;
  time: string;
  actor: string;
  action: string;
  target: string;
}
export interface UsageRow {
  keyId?: string;
  keyName?: string;
  model?: string | null;
  day?: string;
  projectId?: string | null;
  projectName?: string | null;
  upstreamId?: string | null;
  upstreamName?: string | null;
  hour?: string;
  requests: number;
  errors: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
}
export interface UsageRecord {
  id: string;
  ts: number;
  endpoint: string;
  model: string | null;
  status: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number | null;
  latencyMs: number;
}
export interface List<T> {
  object: 'list';
  data: T[];
}
