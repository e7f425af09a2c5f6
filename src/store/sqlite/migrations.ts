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
  `,
  // Audit log (audit/). seq is the chain position; the rowid is the storage order that verification walks.
  `
  CREATE TABLE audit_log (
    seq INTEGER NOT NULL UNIQUE,
    ts INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    before TEXT,
    after TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
  );
  `,
  // Monitoring (monitor/): usage rollups, alerts with their deliveries, and the models/networks each key has used.
  `
  CREATE TABLE usage_rollups (
    granularity TEXT NOT NULL,
    bucket_start INTEGER NOT NULL,
    dim TEXT NOT NULL,
    dim_value TEXT NOT NULL,
    requests INTEGER NOT NULL,
    errors INTEGER NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cached_tokens INTEGER NOT NULL,
    reasoning_tokens INTEGER NOT NULL,
    cost_usd REAL NOT NULL,
    unpriced INTEGER NOT NULL,
    latency_sum_ms REAL NOT NULL,
    latency_max_ms REAL NOT NULL,
    peak_minute_requests INTEGER NOT NULL,
    peak_minute_cost REAL NOT NULL,
    PRIMARY KEY (granularity, dim, dim_value, bucket_start)
  ) WITHOUT ROWID;
  CREATE INDEX usage_rollups_time ON usage_rollups(granularity, bucket_start);
  CREATE TABLE alerts (
    id TEXT PRIMARY KEY,
    detector TEXT NOT NULL,
    severity TEXT NOT NULL,
    subject TEXT NOT NULL,
    key_id TEXT,
    title TEXT NOT NULL,
    message TEXT NOT NULL,
    details TEXT NOT NULL,
    notified INTEGER NOT NULL,
    suspended INTEGER NOT NULL,
    occurrences INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    acknowledged_at INTEGER,
    acknowledged_by TEXT
  );
  CREATE INDEX alerts_dedup ON alerts(detector, subject, created_at);
  CREATE INDEX alerts_created ON alerts(created_at);
  CREATE TABLE alert_deliveries (
    id TEXT PRIMARY KEY,
    alert_id TEXT NOT NULL REFERENCES alerts(id),
    sink TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE INDEX alert_deliveries_alert ON alert_deliveries(alert_id);
  CREATE INDEX alert_deliveries_status ON alert_deliveries(status);
  CREATE TABLE monitor_seen (
    key_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    first_seen_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    PRIMARY KEY (key_id, kind, value)
  ) WITHOUT ROWID;
  `,
  // Anchored audit chain (audit/anchor.ts): each entry's HMAC under the vault-derived audit key; NULL before this.
  // Admin tokens get roles (tokens from before were all-powerful: owner), expiry and last use.
  `
  ALTER TABLE audit_log ADD COLUMN mac TEXT;
  ALTER TABLE admin_tokens ADD COLUMN role TEXT NOT NULL DEFAULT 'owner';
  ALTER TABLE admin_tokens ADD COLUMN expires_at INTEGER;
  ALTER TABLE admin_tokens ADD COLUMN last_used_at INTEGER;
  `,
  // Object ownership (gateway/object-ownership.ts): who created each stored completion, response, file, … .
  `
  CREATE TABLE owned_objects (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    owner_key_id TEXT NOT NULL,
    upstream_id TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (kind, id)
  ) WITHOUT ROWID;
  CREATE INDEX owned_objects_owner ON owned_objects(owner_key_id, kind, created_at);
  `,
  // Projects (teams, admin/project-service.ts): keys and admin tokens may belong to one; its limits apply on top of
  // each key's. A project's spend sits in the spend table under its id (prj_…), beside the keys' spend.
  `
  CREATE TABLE projects (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    models TEXT NOT NULL,
    limits TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  ALTER TABLE virtual_keys ADD COLUMN project_id TEXT;
  CREATE INDEX virtual_keys_project ON virtual_keys(project_id);
  ALTER TABLE admin_tokens ADD COLUMN project_id TEXT;
  `,
  // Ordered fallback upstreams per key (gateway/fallback.ts): a JSON array of upstream ids.
  `
  ALTER TABLE virtual_keys ADD COLUMN fallback_upstream_ids TEXT NOT NULL DEFAULT '[]';
  `,
  // Canary keys and ephemeral child keys (issue 12 items 6 and 7).
  `
  ALTER TABLE virtual_keys ADD COLUMN canary INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE virtual_keys ADD COLUMN parent_id TEXT;
  CREATE INDEX virtual_keys_parent ON virtual_keys(parent_id) WHERE parent_id IS NOT NULL;
  `,
  // Console accounts (console-auth/): users, second factors, server-side sessions, failed attempts and lockouts,
  // setup links and WebAuthn challenges. Plain SQL that PostgreSQL runs as well.
  `
  CREATE TABLE users (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    password_hash TEXT,
    totp_sealed TEXT,
    totp_pending_sealed TEXT,
    totp_last_step INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE TABLE user_recovery_codes (
    user_id TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    used_at INTEGER,
    PRIMARY KEY (user_id, code_hash)
  );
  CREATE TABLE user_passkeys (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    public_key TEXT NOT NULL,
    counter INTEGER NOT NULL,
    transports TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER
  );
  CREATE INDEX user_passkeys_user ON user_passkeys(user_id);
  CREATE TABLE user_sessions (
    id_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    state TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    step_up_until INTEGER,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    revoked_at INTEGER
  );
  CREATE INDEX user_sessions_user ON user_sessions(user_id);
  CREATE TABLE auth_failures (
    subject TEXT NOT NULL,
    kind TEXT NOT NULL,
    ts INTEGER NOT NULL
  );
  CREATE INDEX auth_failures_subject ON auth_failures(subject, kind, ts);
  CREATE TABLE auth_locks (
    subject TEXT PRIMARY KEY,
    locked_until INTEGER NOT NULL
  );
  CREATE TABLE setup_tokens (
    hash TEXT PRIMARY KEY,
    user_id TEXT,
    role TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
  );
  CREATE TABLE webauthn_challenges (
    challenge TEXT PRIMARY KEY,
    purpose TEXT NOT NULL,
    session_id_hash TEXT,
    user_id TEXT,
    expires_at INTEGER NOT NULL
  );
  `,
  // Console statistics: one dimension's buckets over a time range (every key's month, the overview's series)
  // without reading the other dimensions' rows in that range.
  `
  CREATE INDEX usage_rollups_dim_time ON usage_rollups(granularity, dim, bucket_start);
  `,
  // Usage records name the upstream key they were sent with (provider reconciliation per key, issue 12).
  `
  ALTER TABLE usage ADD COLUMN upstream_key_id TEXT;
  `,
  // Reservation ids settled by each spend batch, in the batch's own transaction: recovery after a crash skips them
  // even when their journal close lines were never written (settled-batches.ts). Rows go once the lines are durable.
  `
  CREATE TABLE settled_reservation_batches (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    reservation_ids TEXT NOT NULL
  );
  `,
  // Per settlement writer, its highest committed batch (settled-marks.ts): recovery honours a batch's tagged close
  // line in the journal only up to it. Replaces the per-batch id arrays above (still read, never written).
  `
  CREATE TABLE settled_batch_marks (
    epoch TEXT PRIMARY KEY,
    seq INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  // Key pages in (created_at, id) order (listPage, which the monitor walks every minute) read a range of this index
  // instead of scanning and sorting the whole table for each page.
  `
  CREATE INDEX virtual_keys_created ON virtual_keys(created_at, id);
  `,
];
