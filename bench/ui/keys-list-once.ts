// A one-off measurement of GET /admin/v1/keys at scale, in process (no HTTP, no server start), on bench:ui's data:
// a SQLite data dir with --keys keys and --records usage records over --days days, with the monitor's rollups.
// Prints the median time of the first page (limit 200), of walking every page, and of the raw-sum query the list
// used before (for comparison). Keeps nothing: the data dir is removed afterwards.
//   node --import tsx bench/ui/keys-list-once.ts [--records 1000000] [--keys 1000] [--days 90] [--reps 15]
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { AdminTokenService } from '../../src/admin/admin-tokens.js';
import { KeyService } from '../../src/admin/key-service.js';
import { createAdminApp } from '../../src/admin/router.js';
import { rollupCoverage } from '../../src/admin/stats/rollup-coverage.js';
import { UpstreamService } from '../../src/admin/upstream-service.js';
import { AuditLog } from '../../src/audit/index.js';
import { Limiter } from '../../src/limits/limiter.js';
import { MemoryLimitsBackend } from '../../src/limits/memory-backend.js';
import { silentLogger } from '../../src/log/logger.js';
import { PriceTable } from '../../src/pricing/index.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { Vault } from '../../src/vault/index.js';
import { seedUsage } from './seed.js';

const DAY = 86_400_000;
const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '1000000' },
    keys: { type: 'string', default: '1000' },
    days: { type: 'string', default: '90' },
    reps: { type: 'string', default: '15' },
    // Seed into (or, if it holds a seeded store already, reuse) this dir and keep it: seeding 1M records takes minutes.
    'data-dir': { type: 'string' },
  },
});
const records = Number(values.records);
const keyCount = Number(values.keys);
const reps = Number(values.reps);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

/** CPU time (user + system) of this process per call, median: less moved by other processes than wall time. */
async function cpuTimed(reps_: number, fn: () => Promise<unknown>): Promise<number> {
  await fn();
  const samples: number[] = [];
  for (let i = 0; i < reps_; i++) {
    const before = process.cpuUsage();
    await fn();
    const used = process.cpuUsage(before);
    samples.push((used.user + used.system) / 1000);
  }
  return median(samples);
}

async function timed(reps_: number, fn: () => Promise<unknown>): Promise<number> {
  await fn(); // warm: statement preparation, page cache
  const samples: number[] = [];
  for (let i = 0; i < reps_; i++) {
    const t = performance.now();
    await fn();
    samples.push(performance.now() - t);
  }
  return median(samples);
}

const keep = values['data-dir'];
const dir = keep ?? (await mkdtemp(path.join(tmpdir(), 'kw-keys-list-')));
const reuse = keep !== undefined && existsSync(path.join(keep, 'seeded.json'));
try {
  const now = reuse ? (JSON.parse(readFileSync(path.join(dir, 'seeded.json'), 'utf8')) as { now: number }).now : Date.now();
  const env = { KEYWARDEN_MASTER_KEY: 'ab'.repeat(32) };
  let store = SqliteStore.open(dir);
  let { vault } = await Vault.open({ dataDir: dir, env, meta: store.meta });
  let audit = new AuditLog(store.auditRepository(null), () => now);
  if (!reuse) {
    const keyIds: string[] = [];
    for (let i = 0; i < keyCount; i++) keyIds.push((await new KeyService(store, vault.pepper, () => now, audit).create({ name: `bench-key-${i}` }, 'system:bench')).record.id);
    await store.close();
    const seed = await seedUsage({ dataDir: dir, keyIds, budgetedKeyIds: new Set(), upstreamId: 'ups_bench', records, days: Number(values.days), now, minuteRetentionMs: 2 * DAY });
    console.log(`seeded ${records} records for ${keyCount} keys in ${seed.seconds.toFixed(1)} s (${seed.rollupRows} rollup rows)`);
    if (keep !== undefined) writeFileSync(path.join(dir, 'seeded.json'), JSON.stringify({ now, records, keys: keyCount }));
  } else {
    await store.close();
  }

  store = SqliteStore.open(dir);
  ({ vault } = await Vault.open({ dataDir: dir, env, meta: store.meta }));
  audit = new AuditLog(store.auditRepository(null), () => now);
  const adminTokens = new AdminTokenService(store, vault.pepper, () => now, audit);
  const token = (await adminTokens.issue('bench', 'system:bench')).token;
  const repos = store.monitorRepositories();
  const app = createAdminApp({
    store,
    audit,
    keys: new KeyService(store, vault.pepper, () => now, audit),
    upstreams: new UpstreamService(store, vault, () => now, () => Promise.resolve(), audit),
    adminTokens,
    limiter: new Limiter(new MemoryLimitsBackend(store.spend), new PriceTable()),
    alerts: repos.alerts,
    rollups: repos.rollups,
    hourRetentionMs: 90 * DAY,
    logger: silentLogger,
    now: () => now,
    rollupCoverage: rollupCoverage({ enabled: true, evaluationIntervalMs: 60_000, retention: { minuteMs: 2 * DAY, hourMs: 90 * DAY } }),
  });
  const get = async (q: string): Promise<{ next_cursor: string | null; data: unknown[] }> => {
    const res = await app.request(`/admin/v1/keys${q}`, { headers: { authorization: `Bearer ${token}` } });
    if (res.status !== 200) throw new Error(`GET /keys${q}: ${res.status} ${await res.text()}`);
    return (await res.json()) as { next_cursor: string | null; data: unknown[] };
  };
  if (process.env.KW_PROFILE_PARTS) {
    const { aggregateUsage } = await import('../../src/admin/stats/usage-aggregate.js');
    const coverage = rollupCoverage({ enabled: true, evaluationIntervalMs: 60_000, retention: { minuteMs: 2 * DAY, hourMs: 90 * DAY } })(now);
    const sources = { rollups: repos.rollups, usage: store.usage, coverage };
    const t0 = new Date(now);
    const d0 = Date.UTC(t0.getUTCFullYear(), t0.getUTCMonth(), t0.getUTCDate());
    const m0 = Date.UTC(t0.getUTCFullYear(), t0.getUTCMonth(), 1);
    const page = (await store.keys.listPage({ limit: 200 })).map((k) => k.id);
    console.log('keys.listPage', await timed(9, () => store.keys.listPage({ limit: 201 })));
    console.log('month agg', await timed(9, () => aggregateUsage(sources, [{ since: m0, until: d0 }], { dim: 'key', dimValues: page })));
    console.log('today agg', await timed(9, () => aggregateUsage(sources, [{ since: d0, until: Number.MAX_SAFE_INTEGER }], { dim: 'key', dimValues: page })));
    console.log('lastUsed', await timed(9, () => store.usage.lastUsedAt(page)));
  }
  const authOnly = await timed(reps, async () => (await app.request('/admin/v1/upstreams', { headers: { authorization: `Bearer ${token}` } })).text());
  const firstPage = await timed(reps, () => get('?limit=200'));
  const perPage: number[][] = [];
  const allPages = await timed(Math.max(3, Math.floor(reps / 3)), async () => {
    let after: string | null = null;
    let n = 0;
    let i = 0;
    do {
      const t = performance.now();
      const page = await get(after === null ? '?limit=200' : `?limit=200&after=${encodeURIComponent(after)}`);
      (perPage[i++] ??= []).push(performance.now() - t);
      n += page.data.length;
      after = page.next_cursor;
    } while (after !== null);
    if (!reuse && n !== keyCount) throw new Error(`walked ${n} keys, expected ${keyCount}`);
  });
  // The statement the list ran before (sums of this month's raw records, and MAX(ts) over every record).
  const today = new Date(now);
  const day = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
  const month = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), 1);
  const rawSum = store.db.prepare(
    `SELECT last.key_id, COALESCE(spend.day, 0), COALESCE(spend.month, 0), last.ts
     FROM (SELECT key_id, MAX(ts) AS ts FROM usage GROUP BY key_id) AS last
     LEFT JOIN (SELECT key_id, SUM(CASE WHEN ts >= @day THEN cost_usd END) AS day, SUM(cost_usd) AS month
                FROM usage WHERE ts >= @month GROUP BY key_id) AS spend ON spend.key_id = last.key_id`,
  );
  const before = await timed(3, () => Promise.resolve(rawSum.all({ day, month })));
  const firstPageCpu = await cpuTimed(reps, () => get('?limit=200'));
  const beforeCpu = await cpuTimed(3, () => Promise.resolve(rawSum.all({ day, month })));
  console.log(`GET /upstreams (admin auth and an empty list, for scale): median ${authOnly.toFixed(1)} ms`);
  console.log(`GET /keys?limit=200 (first page of ${keyCount}): median ${firstPage.toFixed(1)} ms`);
  console.log(`every page (${perPage.length} calls): median ${allPages.toFixed(1)} ms; per page ${perPage.map((xs) => median(xs).toFixed(1)).join(', ')} ms`);
  console.log(`the raw-sum query the list used before: median ${before.toFixed(1)} ms`);
  console.log(`CPU per call: first page ${firstPageCpu.toFixed(1)} ms; the raw-sum query ${beforeCpu.toFixed(1)} ms`);
  await store.close();
} finally {
  if (keep === undefined) await rm(dir, { recursive: true, force: true });
}
