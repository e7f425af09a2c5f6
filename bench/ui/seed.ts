// Seeds a stopped server's data dir with usage history through the Store, and the rollups as the monitor builds
// them (its own intake and repository, in batches), then prunes minute buckets past their retention as the
// monitor would. Deterministic: the same arguments give the same data.
import { performance } from 'node:perf_hooks';
import { createSqliteMonitorRepos } from '../../src/monitor/create-monitor.js';
import { UsageIntake } from '../../src/monitor/usage-intake.js';
import type { UsageRecord } from '../../src/store/index.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

const MINUTE = 60_000;
const DAY = 86_400_000;
const BATCH = 20_000;
const MODELS = [
  { model: 'gpt-4o-mini', inUsd: 0.15e-6, outUsd: 0.6e-6 },
  { model: 'gpt-4o', inUsd: 2.5e-6, outUsd: 10e-6 },
  { model: 'gpt-4.1-mini', inUsd: 0.4e-6, outUsd: 1.6e-6 },
  { model: 'text-embedding-3-small', inUsd: 0.02e-6, outUsd: 0 },
] as const;

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export interface SeedOptions {
  dataDir: string;
  keyIds: readonly string[];
  /** Keys whose budgets get their seeded spend in the ledger too (what the gateway would have settled). */
  budgetedKeyIds: ReadonlySet<string>;
  upstreamId: string;
  records: number;
  days: number;
  now: number;
  minuteRetentionMs: number;
}

export interface SeedResult {
  records: number;
  seconds: number;
  rollupRows: number;
}

/** Writes `records` usage records spread over `days` (busier keys more often), their rollups and budget spend. */
export async function seedUsage(options: SeedOptions): Promise<SeedResult> {
  const started = performance.now();
  const store = SqliteStore.open(options.dataDir);
  const rollups = createSqliteMonitorRepos(store.db).rollups;
  const random = mulberry32(42);
  const intake = new UsageIntake();
  const today = options.now - (options.now % DAY);
  const monthStart = Date.UTC(new Date(options.now).getUTCFullYear(), new Date(options.now).getUTCMonth(), 1);
  const spend = new Map<string, { day: number; month: number }>();
  try {
    for (let done = 0; done < options.records; ) {
      const batch: UsageRecord[] = [];
      for (let i = 0; i < BATCH && done < options.records; i++, done++) {
        // Skewed: a few keys carry most traffic, as in real fleets.
        const keyId = options.keyIds[Math.floor(options.keyIds.length * random() ** 2)] as string;
        const price = MODELS[Math.floor(random() * MODELS.length)] as (typeof MODELS)[number];
        const roll = random();
        const status = roll < 0.97 ? 200 : roll < 0.99 ? 429 : 500;
        const promptTokens = status === 200 ? 50 + Math.floor(random() * 2000) : 0;
        const completionTokens = status === 200 && price.outUsd > 0 ? Math.floor(random() * 600) : 0;
        const costUsd = promptTokens * price.inUsd + completionTokens * price.outUsd;
        const ts = options.now - 5 * MINUTE - Math.floor(random() * options.days * DAY);
        batch.push({
          id: `seed_${String(done).padStart(8, '0')}`,
          ts,
          keyId,
          upstreamId: options.upstreamId,
          endpoint: price.outUsd > 0 ? '/v1/chat/completions' : '/v1/embeddings',
          model: price.model,
          status,
          stream: random() < 0.3,
          promptTokens,
          cachedTokens: 0,
          completionTokens,
          reasoningTokens: 0,
          costUsd,
          priceMissing: false,
          latencyMs: 200 + Math.floor(random() * 1500),
          clientIp: `198.51.100.${1 + Math.floor(random() * 50)}`,
          errorCode: status === 200 ? null : status === 429 ? 'rate_limit_exceeded' : 'upstream_error',
        });
        if (options.budgetedKeyIds.has(keyId) && ts >= monthStart) {
          const sum = spend.get(keyId) ?? { day: 0, month: 0 };
          sum.month += costUsd;
          if (ts >= today) sum.day += costUsd;
          spend.set(keyId, sum);
        }
      }
      await store.usage.insertMany(batch);
      // Minute buckets older than the minute retention are pruned below anyway, so those records are folded in
      // at their hour's first minute: the hour and day buckets (what statistics read) come out the same, with a
      // fraction of the minute upserts. Only the peak-minute columns (spike baselines) are overstated for them.
      const minuteKeptSince = options.now - options.minuteRetentionMs;
      for (const record of batch) intake.add(record.ts < minuteKeptSince ? { ...record, ts: record.ts - (record.ts % (60 * MINUTE)) } : record);
      await rollups.apply(intake.drain().deltas);
    }
    await rollups.prune('minute', options.now - options.minuteRetentionMs);
    const date = new Date(options.now).toISOString().slice(0, 10);
    for (const [keyId, sum] of spend) {
      if (sum.day > 0) await store.spend.settle({ reservationId: null, keyId, periodKeys: [`day:${date}`], usd: sum.day });
      await store.spend.settle({ reservationId: null, keyId, periodKeys: [`month:${date.slice(0, 7)}`], usd: sum.month });
    }
    store.spend.flushSettlements();
    const rollupRows = store.db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM usage_rollups').get()?.n ?? 0;
    return { records: options.records, seconds: (performance.now() - started) / 1000, rollupRows };
  } finally {
    await store.close();
  }
}
