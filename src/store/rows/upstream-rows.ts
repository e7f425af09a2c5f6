import type { ProviderKind, UpstreamRecord } from '../types.js';
import { fromJson } from '../sqlite/json-column.js';

/** The upstream table's row shape and its mapping to records: one definition for the SQLite and the PostgreSQL store. */

export interface UpstreamRow {
  id: string;
  name: string;
  provider: string;
  base_url: string;
  api_version: string | null;
  deployments: string;
  keys: string;
  is_default: number;
  created_at: number;
}

export function fromRow(row: UpstreamRow): UpstreamRecord {
  return {
    id: row.id,
    name: row.name,
    provider: row.provider as ProviderKind,
    baseUrl: row.base_url,
    apiVersion: row.api_version,
    deployments: fromJson(row.deployments),
    keys: fromJson(row.keys),
    isDefault: row.is_default === 1,
    createdAt: row.created_at,
  };
}
