import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AdminTokenService } from '../../src/admin/admin-tokens.js';
import { KeyService } from '../../src/admin/key-service.js';
import { createAdminApp } from '../../src/admin/router.js';
import { rollupCoverage } from '../../src/admin/stats/rollup-coverage.js';
import { UpstreamService } from '../../src/admin/upstream-service.js';
import { AuditLog } from '../../src/audit/index.js';
import { Limiter } from '../../src/limits/limiter.js';
import { MemoryLimitsBackend } from '../../src/limits/memory-backend.js';
import { silentLogger } from '../../src/log/logger.js';
import type { MonitorRepositories } from '../../src/monitor/engine.js';
import { PriceTable } from '../../src/pricing/index.js';
import type { AdminRole, UsageRecord } from '../../src/store/index.js';
import { openStore, type StoreBackend } from '../../src/store/open-store.js';
import { Vault } from '../../src/vault/index.js';
import { recordUsage } from './record-usage.js';
import { STORE_BACKENDS } from './store-backends.js';

const MINUTE = 60_000;
const DAY = 86_400_000;
/** The monitor's default evaluation interval: records older than 2 intervals + 30 s count as rolled up. */
export const EVALUATION_MS = MINUTE;

export interface AdminStoreEnv {
  store: StoreBackend;
  repos: MonitorRepositories;
  keys: KeyService;
  /** Moves the admin app's clock (keys created later get a later createdAt). */
  setNow(now: number): void;
  get(pathAndQuery: string, token?: string): Promise<{ status: number; body: unknown }>;
  token(role: AdminRole, projectId?: string): Promise<string>;
  /** Inserts records and, unless `rollups` is false, folds them into the rollups as the monitor's intake does. */
  record(records: readonly UsageRecord[], options?: { rollups?: boolean }): Promise<void>;
  close(): Promise<void>;
}

/**
 * An admin app on a real store of either backend (SQLite in a temp data dir, or a fresh PostgreSQL database) with
 * the monitor's rollup repositories and coverage at a settable clock: the stats harness, for both stores.
 */
export async function adminStoreEnv(backendName: 'sqlite' | 'postgres', start: number): Promise<AdminStoreEnv> {
  const backend = STORE_BACKENDS.find((b) => b.name === backendName);
  if (!backend) throw new Error(`no store backend ${backendName}`);
  const started = await backend.start();
  const dir = await mkdtemp(path.join(tmpdir(), 'kw-admin-store-'));
  const url = (started.config.store)?.url;
  // The schema's defaults, spelled out: this opens the store without parsing a whole config.
  const storeConfig = { poolSize: 4, connectTimeoutMs: 5_000, keyVersionCheckMs: 250, outageKeyCacheMs: 60_000, propagationTimeoutMs: 2_000 };
  const store = await openStore({ dataDir: dir, store: url === undefined ? storeConfig : { ...storeConfig, url } });
  let now = start;
  const clock = () => now;
  const { vault } = await Vault.open({ dataDir: dir, env: { KEYWARDEN_MASTER_KEY: 'cd'.repeat(32) }, meta: store.meta });
  const audit = new AuditLog(store.auditRepository(null), clock);
  const adminTokens = new AdminTokenService(store, vault.pepper, clock, audit);
  const owner = (await adminTokens.issue('owner', 'system:test')).token;
  const repos = store.monitorRepositories();
  const keys = new KeyService(store, vault.pepper, clock, audit);
  const app = createAdminApp({
    store,
    audit,
    keys,
    upstreams: new UpstreamService(store, vault, clock, () => Promise.resolve(), audit),
    adminTokens,
    limiter: new Limiter(new MemoryLimitsBackend(store.spend), new PriceTable()),
    alerts: repos.alerts,
    rollups: repos.rollups,
    hourRetentionMs: 90 * DAY,
    logger: silentLogger,
    now: clock,
    rollupCoverage: rollupCoverage({ enabled: true, evaluationIntervalMs: EVALUATION_MS, retention: { minuteMs: 2 * DAY, hourMs: 90 * DAY } }),
  });
  let issued = 0;
  return {
    store,
    repos,
    keys,
    setNow(next) {
      now = next;
    },
    async get(pathAndQuery, token = owner) {
      const res = await app.request(`/admin/v1${pathAndQuery}`, { headers: { authorization: `Bearer ${token}` } });
      return { status: res.status, body: (await res.json()) };
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
      await started.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
