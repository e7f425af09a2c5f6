/**
 * Schema migrations, applied in order and tracked in PRAGMA user_version. Append only: never edit a migration
 * that has shipped.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  CREATE TABLE virtual_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    last4 TEXT NOT NULL,
    previous_hash TEXT,
    previous_hash_expires_at INTEGER,
    upstream_id TEXT,
    scopes TEXT NOT NULL,
    limits TEXT NOT NULL,
    metadata TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER,
    suspended_at INTEGER,
    suspended_reason TEXT,
    rotated_at INTEGER
  );
  CREATE INDEX virtual_keys_previous_hash ON virtual_keys(previous_hash) WHERE previous_hash IS NOT NULL;
  CREATE TABLE upstreams (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    provider TEXT NOT NULL,
    base_url TEXT NOT NULL,
    api_version TEXT,
    deployments TEXT NOT NULL,
    keys TEXT NOT NULL,
    is_default INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE usage (
    id TEXT PRIMARY KEY,
    ts INTEGER NOT NULL,
    key_id TEXT NOT NULL,
    upstream_id TEXT,
    endpoint TEXT NOT NULL,
    model TEXT,
    status INTEGER NOT NULL,
    stream INTEGER NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    cached_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    reasoning_tokens INTEGER NOT NULL,
    cost_usd REAL,
    price_missing INTEGER NOT NULL,
    latency_ms REAL NOT NULL,
    client_ip TEXT NOT NULL,
    error_code TEXT
  );
  CREATE INDEX usage_key_ts ON usage(key_id, ts);
  CREATE INDEX usage_ts ON usage(ts);
  CREATE TABLE admin_tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    last4 TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
  );
  `,
  `
  CREATE TABLE spend (
    key_id TEXT NOT NULL,
    period_key TEXT NOT NULL,
    usd REAL NOT NULL,
    PRIMARY KEY (key_id, period_key)
  );
  CREATE TABLE spend_reservations (
    id TEXT PRIMARY KEY,
    key_id TEXT NOT NULL,
    usd REAL NOT NULL,
    period_keys TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  `,
];
