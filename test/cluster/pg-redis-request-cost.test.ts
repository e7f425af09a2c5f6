// What one ordinary request costs on the scale-out stack (issue 11, Performance), counted where it happens: every
// statement any pg client of this process sends, and the Redis server's own INFO commandstats. The key has rates,
// tokens, concurrency and two budgets, as in bench:gateway's pg-redis scenario, and is warm (cached, rebuilt).
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisLimitsBackend } from '../../src/limits/redis/redis-backend.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { acquireTestPostgres, releaseTestPostgres } from '../support/postgres-server.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';

let redis: TestRedis;
let h: Harness;
const statements: string[] = [];
/** The driver's own query method, wrapped below to count every statement and put back afterwards. */
const originalQuery = Reflect.get(pg.Client.prototype, 'query') as (this: pg.Client, ...args: unknown[]) => unknown;

beforeAll(async () => {
  const pgServer = await acquireTestPostgres();
  const url = await pgServer.createDatabase();
  redis = await startTestRedis();
  h = await startHarness({
    config: { store: { url }, limits: { redis: { url: redis.url } } },
    env: { KEYWARDEN_MASTER_KEY: randomBytes(32).toString('hex') },
  });
  // Leases renewed and swept once a second would add script calls of their own to the counts.
  (h.server.gateway.limiter.backend as RedisLimitsBackend).stop();
  Reflect.set(pg.Client.prototype, 'query', function (this: pg.Client, ...args: unknown[]) {
    const first = args[0];
    const text = typeof first === 'string' ? first : ((first as { text?: string } | undefined)?.text ?? '?');
    statements.push(text.replace(/\s+/g, ' ').trim());
    return originalQuery.apply(this, args);
  });
}, 90_000);
afterAll(async () => {
  Reflect.set(pg.Client.prototype, 'query', originalQuery);
  await h?.close();
  await redis?.stop();
  await releaseTestPostgres();
}, 30_000);

/** Script calls (EVALSHA + EVAL) the Redis server has run. */
const scriptCalls = (): Promise<number> => redis.scriptCalls();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Statements of the background jobs that run whatever the traffic (version check, leader lease heartbeat). */
const BACKGROUND = /^(SELECT version FROM key_version|SELECT 1)$/;

const messages = [{ role: 'user' as const, content: 'Say hello.' }];
const LIMITS = {
  rpm: 100_000,
  tpm: 100_000_000,
  concurrency: 100,
  max_output_tokens: 256,
  budgets: [
    { usd: 1000, period: 'day' },
    { usd: 10_000, period: 'month' },
  ],
};

async function warmKey(): Promise<string> {
  const { key } = await h.createKey({ limits: LIMITS });
  const client = h.client(key);
  // The first requests load the key into the cache and its spend into Redis (once per key).
  for (let i = 0; i < 3; i++) await client.chat.completions.create({ model: 'gpt-4o-mini', messages });
  await sleep(200);
  return key;
}

describe('one replica on PostgreSQL + Redis: what a request costs', () => {
  it('a request whose output cap is injected from the budget: one script call to admit, one to settle, nothing read first', async () => {
    const key = await warmKey();
    const client = h.client(key);
    const before = await scriptCalls();
    const n = 20;
    // No max_tokens: the gateway sizes and injects the cap from the remaining budget (the hint, not a read).
    for (let i = 0; i < n; i++) await client.chat.completions.create({ model: 'gpt-4o-mini', messages });
    await sleep(100);
    const perRequest = ((await scriptCalls()) - before) / n;
    // Exactly 2 unless this machine is so slow that a hint aged out between two requests (then one read more).
    expect(perRequest).toBeGreaterThanOrEqual(2);
    expect(perRequest).toBeLessThanOrEqual(2.2);
  });

  it('under concurrency, admissions and settlements of different requests share script calls', async () => {
    const key = await warmKey();
    const client = h.client(key);
    const before = await scriptCalls();
    const n = 192;
    const lanes = 32;
    await Promise.all(
      Array.from({ length: lanes }, async () => {
        for (let i = 0; i < n / lanes; i++) await client.chat.completions.create({ model: 'gpt-4o-mini', messages });
      }),
    );
    await sleep(100);
    const perRequest = ((await scriptCalls()) - before) / n;
    // Before batching: 3 per request (read, admit, settle). One batch per event-loop turn is far below 2.
    expect(perRequest).toBeLessThan(1.5);
  });

  it('sends PostgreSQL nothing per request for a cached key: usage and spend go in one statement per batch, no transaction', async () => {
    const key = await warmKey();
    const client = h.client(key);
    statements.length = 0;
    const started = performance.now();
    const n = 96;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let i = 0; i < n / 16; i++) await client.chat.completions.create({ model: 'gpt-4o-mini', messages, max_tokens: 20 });
      }),
    );
    await sleep(150);
    const elapsed = performance.now() - started;
    const traffic = statements.filter((s) => !BACKGROUND.test(s));
    // No key lookup, no reservation row, no BEGIN/COMMIT around a settlement batch.
    expect(traffic.filter((s) => /virtual_keys|spend_reservations|^BEGIN|^COMMIT/.test(s))).toEqual([]);
    expect(traffic.every((s) => s.startsWith('INSERT INTO usage') || s.startsWith('INSERT INTO spend'))).toBe(true);
    expect(traffic.filter((s) => s.startsWith('INSERT INTO usage')).length).toBeGreaterThan(0);
    expect(traffic.filter((s) => s.startsWith('INSERT INTO spend')).length).toBeGreaterThan(0);
    // At most one usage and one spend statement per 20 ms flush interval (plus the final ones), never one per request.
    expect(traffic.length).toBeLessThanOrEqual(2 * Math.ceil(elapsed / 20) + 2);
    expect(traffic.length).toBeLessThan(n);
  });
});
