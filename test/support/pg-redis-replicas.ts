import { randomBytes } from 'node:crypto';
import type { BillingLedger } from './fake-openai-billing.js';
import { startHarness, type Harness } from './gateway-harness.js';
import { acquireTestPostgres, releaseTestPostgres } from './postgres-server.js';
import { startTestRedis, type TestRedis } from './redis-server.js';

export interface PgRedisReplicas {
  /** A, B and C: A registered the fake upstream (billed into the given ledger); B and C use it from the store. */
  replicas: [Harness, Harness, Harness];
  redis: TestRedis;
  close(): Promise<void>;
}

/** Three gateway replicas on one throw-away PostgreSQL (the store) and one Redis (the limits), as issue 11 deploys them. */
export async function startPgRedisReplicas(billing: BillingLedger): Promise<PgRedisReplicas> {
  const pg = await acquireTestPostgres();
  const url = await pg.createDatabase();
  const redis = await startTestRedis();
  const env = { KEYWARDEN_MASTER_KEY: randomBytes(32).toString('hex') };
  const config = { store: { url }, limits: { redis: { url: redis.url } } };
  const a = await startHarness({ fake: { billing }, config, env });
  const b = await startHarness({ config, env, withUpstream: false });
  const c = await startHarness({ config, env, withUpstream: false });
  const replicas: [Harness, Harness, Harness] = [a, b, c];
  return {
    replicas,
    redis,
    close: async () => {
      for (const r of [c, b, a]) await r.close();
      await redis.stop();
      await releaseTestPostgres();
    },
  };
}
