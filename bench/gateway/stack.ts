// The services a scenario's gateway runs on when it is not the embedded default: a throw-away PostgreSQL (store)
// and Redis (limits), started by the benchmark itself the way the tests start theirs, stopped at the end.
import { startTestPostgres, type TestPostgres } from '../../test/support/postgres-server.js';
import { startTestRedis, type TestRedis } from '../../test/support/redis-server.js';

export type Stack = 'postgres+redis';

const running: Array<{ stop(): Promise<void> }> = [];

/** Starts the stack's services; returns the environment that points `keywarden serve` at them. */
export async function startStack(stack: Stack): Promise<Record<string, string>> {
  const pg: TestPostgres = await startTestPostgres();
  running.push({ stop: () => pg.destroy() });
  const redis: TestRedis = await startTestRedis();
  running.push({ stop: () => redis.stop() });
  const url = await pg.createDatabase();
  return stack === 'postgres+redis' ? { KEYWARDEN_DATABASE_URL: url, KEYWARDEN_REDIS_URL: redis.url } : {};
}

export async function stopStacks(): Promise<void> {
  for (const service of running.splice(0).reverse()) await service.stop().catch(() => undefined);
}
