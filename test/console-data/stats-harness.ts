import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AdminTokenService } from '../../src/admin/admin-tokens.js';
import { KeyService } from '../../src/admin/key-service.js';
import { ProjectService } from '../../src/admin/project-service.js';
import { createAdminApp } from '../../src/admin/router.js';
import { rollupCoverage } from '../../src/admin/stats/rollup-coverage.js';
import { UpstreamService } from '../../src/admin/upstream-service.js';
import { AuditLog } from '../../src/audit/index.js';
import { Limiter } from '../../src/limits/limiter.js';
import { MemoryLimitsBackend } from '../../src/limits/memory-backend.js';
import { silentLogger } from '../../src/log/logger.js';
import { createSqliteMonitorRepos } from '../../src/monitor/create-monitor.js';
import type { MonitorRepositories } from '../../src/monitor/engine.js';
import { PriceTable } from '../../src/pricing/index.js';
import type { AdminRole, UsageRecord } from '../../src/store/index.js';
import { SqliteAuditRepository } from '../../src/store/sqlite/audit-repo.js';
import { openDatabase } from '../../src/store/sqlite/database.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { Vault } from '../../src/vault/index.js';
import { recordUsage } from '../support/record-usage.js';

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
/** The monitor's default evaluation interval: records older than 2 intervals + 30 s are rolled up. */
export const EVALUATION_MS = MINUTE;

export interface StatsEnv {
  store: SqliteStore;
  repos: MonitorRepositories;
  keys: KeyService;
  projects: ProjectService;
  limiter: Limiter;
  adminTokens: AdminTokenService;
  owner: string;
  /** GET on the admin app; returns status and parsed JSON (or text for CSV). */
  get(pathAndQuery: string, token?: string): Promise<{ status: number; body: unknown; text: string; contentType: string }>;
  token(role: AdminRole, projectId?: string): Promise<string>;
  /** Inserts records and folds them into the rollups as the monitor's intake and evaluation do. */
  record(records: readonly UsageRecord[], options?: { rollups?: boolean }): Promise<void>;
  close(): Promise<void>;
}

/**
 * An admin app on an in-memory SQLite store with the monitor's rollup repositories, at a fixed clock. `monitor`
 * false: no rollup coverage (every statistic read raw), as when the monitor is disabled.
 */
export async function statsEnv(now: number, options: { monitor?: boolean } = {}): Promise<StatsEnv> {
  const dir = await mkdtemp(path.join(tmpdir(), 'kw-stats-'));
  const store = new SqliteStore(openDatabase(':memory:'));
  const { vault } = await Vault.open({ dataDir: dir, env: { KEYWARDEN_MASTER_KEY: 'cd'.repeat(32) }, meta: store.meta });
  const clock = () => now;
  const audit = new AuditLog(new SqliteAuditRepository(store.db), clock);
  const adminTokens = new AdminTokenService(store, vault.pepper, clock, audit);
  const owner = (await adminTokens.issue('owner', 'system:test')).token;
  const repos = createSqliteMonitorRepos(store.db);
  const keys = new KeyService(store, vault.pepper, clock, audit);
  const limiter = new Limiter(new MemoryLimitsBackend(store.spend), new PriceTable());
  const app = createAdminApp({
    store,
    audit,
    keys,
    upstreams: new UpstreamService(store, vault, clock, () => Promise.resolve(), audit),
    adminTokens,
    limiter,
    alerts: repos.alerts,
    rollups: repos.rollups,
    hourRetentionMs: 90 * DAY,
    logger: silentLogger,
    now: clock,
    ...(options.monitor === false
      ? {}
      : { rollupCoverage: rollupCoverage({ enabled: true, evaluationIntervalMs: EVALUATION_MS, retention: { minuteMs: 2 * DAY, hourMs: 90 * DAY } }) }),
  });
  let issued = 0;
  return {
    store,
    repos,
    keys,
    projects: new ProjectService(store, clock, audit),
    limiter,
    adminTokens,
    owner,
    async get(pathAndQuery, token = owner) {
      const res = await app.request(`/admin/v1${pathAndQuery}`, { headers: { authorization: `Bearer ${token}` } });
      const text = await res.text();
      const contentType = res.headers.get('content-type') ?? '';
      return { status: res.status, text, contentType, body: contentType.includes('json') ? (JSON.parse(text) as unknown) : null };
    },
    async token(role, projectId) {
      issued++;
      return (await adminTokens.issue(`t${issued}`, 'system:test', undefined, { role, ...(projectId ? { projectId } : {}) })).token;
    },
    async record(records, opts = {}) {
      await recordUsage(store.usage, repos.rollups, records, opts);
    },
    async close() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Local calendar date (YYYY-MM-DD) of an instant in a zone: the test's own reckoning, independent of the code under test. */
const dateFormats = new Map<string, Intl.DateTimeFormat>();
const dateMemo = new Map<string, string>();
export function localDateOf(ts: number, tz: string): string {
  const id = `${tz}\n${ts}`;
  const hit = dateMemo.get(id);
  if (hit !== undefined) return hit;
  let format = dateFormats.get(tz);
  if (!format) {
    format = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' });
    dateFormats.set(tz, format);
  }
  const date = format.format(new Date(ts));
  dateMemo.set(id, date);
  return date;
}

/** A small deterministic generator (mulberry32), so datasets are varied but reproducible. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

let counter = 0;
export function usageRecord(overrides: Partial<UsageRecord>): UsageRecord {
  counter++;
  return {
    id: `u${String(counter).padStart(9, '0')}`,
    ts: 0,
    keyId: 'key_x',
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
