// The services a scenario's gateway runs on when it is not the embedded default: a throw-away PostgreSQL (store)
// and Redis (limits), started by the benchmark itself the way the tests start theirs, stopped at the end. The
// services start once per run; every gateway gets a fresh database of its own (and its keys are random, so they
// never meet another gateway's counters in the shared Redis).
import { startTestPostgres, type TestPostgres } from '../../test/support/postgres-server.js';
import { startTestRedis, type TestRedis } from '../../test/support/redis-server.js';

export type Stack = 'postgres+redis';

interface Services {
  pg: TestPostgres;
  redis: TestRedis;
}

let services: Promise<Services> | null = null;

async function startServices(): Promise<Services> {
  const pg = await startTestPostgres();
  try {
    return { pg, redis: await startTestRedis() };
  } catch (err) {
    await pg.destroy().catch(() => undefined);
    throw err;
  }
}

/** Starts the stack's services on first use; returns the environment that points `keywarden serve` at them. */
export async function startStack(stack: Stack): Promise<Record<string, string>> {
  services ??= startServices();
  const { pg, redis } = await services;
  const url = await pg.createDatabase();
  return stack === 'postgres+redis' ? { KEYWARDEN_DATABASE_URL: url, KEYWARDEN_REDIS_URL: redis.url } : {};
}

/** The Redis of the running stack (to read INFO commandstats around a measured window), if one is running. */
export async function stackRedis(): Promise<TestRedis | null> {
  return services ? (await services).redis : null;
}

export async function stopStacks(): Promise<void> {
  const running = services;
  services = null;
  if (!running) return;
  const { pg, redis } = await running.catch(() => ({ pg: null, redis: null }));
  await redis?.stop().catch(() => undefined);
  await pg?.destroy().catch(() => undefined);
}
