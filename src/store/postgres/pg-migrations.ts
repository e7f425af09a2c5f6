/**
 * PostgreSQL schema, versioned in keywarden_schema and applied by migratePg. Append only: never edit a migration
 * that has shipped. Columns mirror the SQLite schema one for one (same names, epoch milliseconds as BIGINT, USD as
 * DOUBLE PRECISION like SQLite's REAL, flags as 0/1 SMALLINT, JSON as the same text), so `keywarden migrate` copies
 * rows as they are and both stores return identical records.
 */
export const PG_MIGRATIONS: readonly string[] = [
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
    previous_hash_expires_at BIGINT,
    upstream_id TEXT,
    scopes TEXT NOT NULL,
    limits TEXT NOT NULL,
    metadata TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT,
    suspended_at BIGINT,
    suspended_reason TEXT,
    rotated_at BIGINT,
    project_id TEXT,
    fallback_upstream_ids TEXT NOT NULL DEFAULT '[]',
    canary SMALLINT NOT NULL DEFAULT 0,
    parent_id TEXT
  );
  CREATE INDEX virtual_keys_previous_hash ON virtual_keys(previous_hash) WHERE previous_hash IS NOT NULL;
  CREATE INDEX virtual_keys_project ON virtual_keys(project_id);
  CREATE INDEX virtual_keys_parent ON virtual_keys(parent_id) WHERE parent_id IS NOT NULL;

  -- Change propagation: every change to a key bumps one counter and notifies every replica (pg-key-cache.ts).
  CREATE TABLE key_version (only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row), version BIGINT NOT NULL);
  INSERT INTO key_version (version) VALUES (0);
  CREATE FUNCTION keywarden_key_changed() RETURNS trigger LANGUAGE plpgsql AS $$
  DECLARE
    changed TEXT;
    next_version BIGINT;
  BEGIN
    IF TG_OP = 'DELETE' THEN changed := OLD.id; ELSE changed := NEW.id; END IF;
    UPDATE key_version SET version = version + 1 RETURNING version INTO next_version;
    PERFORM pg_notify('keywarden_keys', changed || ':' || next_version);
    RETURN NULL;
  END;
  $$;
  CREATE TRIGGER virtual_keys_changed AFTER INSERT OR UPDATE OR DELETE ON virtual_keys
    FOR EACH ROW EXECUTE FUNCTION keywarden_key_changed();

  CREATE TABLE upstreams (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    provider TEXT NOT NULL,
    base_url TEXT NOT NULL,
    api_version TEXT,
    deployments TEXT NOT NULL,
    keys TEXT NOT NULL,
    is_default SMALLINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
  );
  CREATE TABLE usage (
    pos BIGSERIAL,
    id TEXT PRIMARY KEY,
    ts BIGINT NOT NULL,
    key_id TEXT NOT NULL,
    upstream_id TEXT,
    endpoint TEXT NOT NULL,
    model TEXT,
    status INTEGER NOT NULL,
    stream SMALLINT NOT NULL,
    prompt_tokens BIGINT NOT NULL,
    cached_tokens BIGINT NOT NULL,
    completion_tokens BIGINT NOT NULL,
    reasoning_tokens BIGINT NOT NULL,
    cost_usd DOUBLE PRECISION,
    price_missing SMALLINT NOT NULL,
    latency_ms DOUBLE PRECISION NOT NULL,
    client_ip TEXT NOT NULL,
    error_code TEXT
  );
  CREATE INDEX usage_key_ts ON usage(key_id, ts);
  CREATE INDEX usage_ts ON usage(ts, id);
  CREATE TABLE admin_tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    last4 TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    role TEXT NOT NULL DEFAULT 'owner',
    expires_at BIGINT,
    last_used_at BIGINT,
    project_id TEXT
  );
  CREATE TABLE spend (
    key_id TEXT NOT NULL,
    period_key TEXT NOT NULL,
    usd DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (key_id, period_key)
  );
  -- Open budget reservations (the SQLite store's journal file): owner_lock names the live store instance holding
  -- them (a session advisory lock); reservations whose owner holds no lock were left by a dead replica.
  CREATE TABLE spend_reservations (
    id TEXT PRIMARY KEY,
    owner_lock INTEGER NOT NULL,
    record TEXT NOT NULL,
    created_at BIGINT NOT NULL
  );
  CREATE TABLE audit_log (
    pos BIGSERIAL PRIMARY KEY,
    seq BIGINT NOT NULL UNIQUE,
    ts BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    before TEXT,
    after TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    mac TEXT
  );
  CREATE TABLE usage_rollups (
    granularity TEXT NOT NULL,
    bucket_start BIGINT NOT NULL,
    dim TEXT NOT NULL,
    dim_value TEXT NOT NULL,
    requests BIGINT NOT NULL,
    errors BIGINT NOT NULL,
    prompt_tokens BIGINT NOT NULL,
    completion_tokens BIGINT NOT NULL,
    cached_tokens BIGINT NOT NULL,
    reasoning_tokens BIGINT NOT NULL,
    cost_usd DOUBLE PRECISION NOT NULL,
    unpriced BIGINT NOT NULL,
    latency_sum_ms DOUBLE PRECISION NOT NULL,
    latency_max_ms DOUBLE PRECISION NOT NULL,
    peak_minute_requests BIGINT NOT NULL,
    peak_minute_cost DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (granularity, dim, dim_value, bucket_start)
  );
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
    notified SMALLINT NOT NULL,
    suspended SMALLINT NOT NULL,
    occurrences BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    acknowledged_at BIGINT,
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
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
  );
  CREATE INDEX alert_deliveries_alert ON alert_deliveries(alert_id);
  CREATE INDEX alert_deliveries_status ON alert_deliveries(status);
  CREATE TABLE monitor_seen (
    key_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    first_seen_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    PRIMARY KEY (key_id, kind, value)
  );
  CREATE TABLE owned_objects (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    owner_key_id TEXT NOT NULL,
    upstream_id TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (kind, id)
  );
  CREATE INDEX owned_objects_owner ON owned_objects(owner_key_id, kind, created_at);
  CREATE TABLE projects (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    models TEXT NOT NULL,
    limits TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
  );
  `,
  // Console accounts (console-auth/): users, second factors, sessions, failed attempts and lockouts, setup links and
  // WebAuthn challenges; the same tables as the SQLite store's.
  `
  CREATE TABLE users (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    password_hash TEXT,
    totp_sealed TEXT,
    totp_pending_sealed TEXT,
    totp_last_step BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
  );
  CREATE TABLE user_recovery_codes (
    user_id TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (user_id, code_hash)
  );
  CREATE TABLE user_passkeys (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    public_key TEXT NOT NULL,
    counter BIGINT NOT NULL,
    transports TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
  );
  CREATE INDEX user_passkeys_user ON user_passkeys(user_id);
  CREATE TABLE user_sessions (
    id_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    state TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    step_up_until BIGINT,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    revoked_at BIGINT
  );
  CREATE INDEX user_sessions_user ON user_sessions(user_id);
  CREATE TABLE auth_failures (
    subject TEXT NOT NULL,
    kind TEXT NOT NULL,
    ts BIGINT NOT NULL
  );
  CREATE INDEX auth_failures_subject ON auth_failures(subject, kind, ts);
  CREATE TABLE auth_locks (
    subject TEXT PRIMARY KEY,
    locked_until BIGINT NOT NULL
  );
  CREATE TABLE setup_tokens (
    hash TEXT PRIMARY KEY,
    user_id TEXT,
    role TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
  );
  CREATE TABLE webauthn_challenges (
    challenge TEXT PRIMARY KEY,
    purpose TEXT NOT NULL,
    session_id_hash TEXT,
    user_id TEXT,
    expires_at BIGINT NOT NULL
  );
  `,
  // Console statistics: one dimension's buckets over a time range without reading the other dimensions' rows.
  `
  CREATE INDEX usage_rollups_dim_time ON usage_rollups(granularity, dim, bucket_start);
  `,
  // Usage records name the upstream key they were sent with (provider reconciliation per key, issue 12).
  `
  ALTER TABLE usage ADD COLUMN upstream_key_id TEXT;
  `,
  // Key pages in (created_at, id) order, ids compared bytewise as listPage orders them: a range of this index per page.
  `
  CREATE INDEX virtual_keys_created ON virtual_keys(created_at, id COLLATE "C");
  `,
];
