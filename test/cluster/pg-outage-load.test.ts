// PostgreSQL stopped for 10 s under a bounded load of SDK requests (issue 11): the gateway keeps serving known keys,
// holds at most `store.outageBuffer.maxRecords` usage records in memory and spills the rest to a file in its data
// directory, admin writes answer 503 store_unavailable, and once PostgreSQL returns every served request has exactly
// one usage record — counted against what the fake upstream itself served, read straight from PostgreSQL.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPLAYING_FILE_NAME, SPILL_FILE_NAME } from '../../src/store/outage/usage-spill-file.js';
import { apiErrorOf } from '../support/api-error.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { acquireTestPostgres, releaseTestPostgres, type TestPostgres } from '../support/postgres-server.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

let pg: TestPostgres;
let redis: TestRedis | null = null;
const harnesses: Harness[] = [];
const MASTER_KEY = randomBytes(32).toString('hex');

beforeAll(async () => {
  pg = await acquireTestPostgres();
}, 30_000);
afterAll(async () => {
  for (const h of harnesses) await h.close();
  await redis?.stop();
  await releaseTestPostgres();
}, 30_000);

async function gatewayOnPostgres(outageBuffer: Record<string, number>, redisUrl?: string): Promise<{ h: Harness; url: string }> {
  const url = await pg.createDatabase();
  const config = { store: { url, outageKeyCacheMs: 120_000, outageBuffer }, ...(redisUrl ? { limits: { redis: { url: redisUrl } } } : {}) };
  const h = await startHarness({ config, env: { KEYWARDEN_MASTER_KEY: MASTER_KEY } });
  harnesses.push(h);
  return { h, url };
}

const messages = [{ role: 'user' as const, content: 'hi' }];
const chat = (client: OpenAI): Promise<unknown> => client.chat.completions.create({ model: 'gpt-4o-mini', messages, max_tokens: 16 });
const outcome = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'ok',
    (err: unknown) => (err instanceof OpenAI.APIError ? `${err.status ?? 0}:${err.code ?? 'none'}` : 'other'),
  );

/** The spill files' text (a replay attempt renames the file aside while it runs, so both are read). */
function spilledText(dataDir: string): string | null {
  const files = [REPLAYING_FILE_NAME, SPILL_FILE_NAME].map((name) => path.join(dataDir, name)).filter((file) => existsSync(file));
  return files.length === 0 ? null : files.map((file) => readFileSync(file, 'utf8')).join('');
}

/** Usage rows of a key as PostgreSQL holds them: how many, and how many distinct ids (a duplicate shows as a gap). */
async function usageRows(url: string, keyId: string): Promise<{ rows: number; ids: number }> {
  const result = await pg.query(url, 'SELECT COUNT(*)::int AS rows, COUNT(DISTINCT id)::int AS ids FROM usage WHERE key_id = $1', [keyId]);
  return result.rows[0] as { rows: number; ids: number };
}

/** `workers` SDK clients each sending requests one after another until `stop` says so (at most `cap` each). */
function load(client: OpenAI, workers: number, cap: number): { stop(): void; done: Promise<string[]> } {
  let stopped = false;
  const worker = async (): Promise<string[]> => {
    const seen: string[] = [];
    for (let i = 0; i < cap && !stopped; i++) seen.push(await outcome(chat(client)));
    return seen;
  };
  const done = Promise.all(Array.from({ length: workers }, worker)).then((all) => all.flat());
  return { stop: () => void (stopped = true), done };
}

describe('PostgreSQL stopped for 10 s under load', () => {
  it('serves known keys throughout, spills past 50 records, refuses admin writes, and loses no usage record', async () => {
    const { h, url } = await gatewayOnPostgres({ maxRecords: 50 });
    const { id, key } = await h.createKey({ name: 'busy' });
    const client = h.client(key, { maxRetries: 0 });
    expect(await outcome(chat(client))).toBe('ok');
    await h.server.gateway.usage.flush();
    h.fake.reset();

    const traffic = load(client, 4, 5000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await pg.stop();
    const stoppedAt = Date.now();
    let peakPending = 0;
    try {
      const write = await h.admin<{ error: { code: string; message: string } }>('POST', '/keys', { name: 'during-outage' });
      expect(write.status).toBe(503);
      expect(write.body.error.code).toBe('store_unavailable');
      // Ten seconds of outage under load; the memory bound is sampled all along.
      while (Date.now() - stoppedAt < 10_000) {
        peakPending = Math.max(peakPending, h.server.gateway.usage.pending);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      // The spill file holds records, not secrets: neither the virtual key, nor the upstream key, nor the admin token.
      const spilled = spilledText(h.dataDir) ?? '';
      expect(spilled.length).toBeGreaterThan(0);
      expect(spilled).toContain(id);
      for (const secret of [key, h.upstreamKey, h.adminToken]) expect(spilled).not.toContain(secret);
      expect(spilled).not.toContain(key.slice(3, 20));
    } finally {
      await pg.start();
    }
    // Load goes on across the return; then it stops and everything is flushed.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    traffic.stop();
    const outcomes = await traffic.done;
    const served = outcomes.filter((o) => o === 'ok').length;
    // Known key, within its outage grace: nothing was refused.
    expect(outcomes.filter((o) => o !== 'ok')).toEqual([]);
    // The outage really was under load: far more requests than the memory bound while PostgreSQL was down.
    expect(served).toBeGreaterThan(200);
    // The memory bound holds to within what arrives between two checks (one record per request, four workers).
    expect(peakPending).toBeLessThanOrEqual(50 + 4);

    await waitFor(async () => (await h.admin('POST', '/keys', { name: 'after' })).status === 201, { timeoutMs: 15_000, what: 'admin writes to work again' });
    await waitFor(
      async () => {
        await h.server.gateway.usage.flush();
        return (await usageRows(url, id)).rows >= served + 1;
      },
      { timeoutMs: 15_000, what: 'every outage record written' },
    );
    // The judge: the fake upstream's own count of what it served. One record each, none twice, the file gone.
    expect(h.fake.requests).toHaveLength(served);
    expect(await usageRows(url, id)).toEqual({ rows: served + 1, ids: served + 1 });
    expect(spilledText(h.dataDir)).toBeNull();
    expect(h.logs()).not.toContain(key);
  }, 90_000);

  it('past both bounds, keys with budgets are refused with 503 (fail closed), others keep working, nothing is dropped, and it is audited', async () => {
    // 5 records in memory, about 8 in the file (a record is about 400 bytes). Budgets on Redis, as a scaled-out
    // deployment runs them: admission needs no PostgreSQL, so only the buffer's gate stops a budgeted request.
    redis = await startTestRedis();
    const { h, url } = await gatewayOnPostgres({ maxRecords: 5, maxSpillBytes: 3500 }, redis.url);
    const budgeted = await h.createKey({ name: 'budgeted', limits: { budgets: [{ usd: 50, period: 'month' }] } });
    const plain = await h.createKey({ name: 'plain' });
    const onBudget = h.client(budgeted.key, { maxRetries: 0 });
    const onPlain = h.client(plain.key, { maxRetries: 0 });
    expect(await outcome(chat(onBudget))).toBe('ok');
    expect(await outcome(chat(onPlain))).toBe('ok');
    await h.server.gateway.usage.flush();
    await h.server.services.store.flushSpend();
    // Let the key-change notifications of the first requests pass, then use both keys again, so both are in the
    // replica's key cache when the database goes away.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await outcome(chat(onBudget))).toBe('ok');
    expect(await outcome(chat(onPlain))).toBe('ok');
    await h.server.gateway.usage.flush();
    h.fake.reset();

    await pg.stop();
    let servedPlain = 0;
    let servedBudget = 0;
    try {
      // Before the buffer is full the budgeted key is served during the outage: the refusal below is the gate's.
      expect(await outcome(chat(onBudget))).toBe('ok');
      servedBudget++;
      // Fill memory and file with the plain key's records (bounded: 60 requests).
      for (let i = 0; i < 60 && !h.server.gateway.usage.full; i++) {
        expect(await outcome(chat(onPlain))).toBe('ok');
        servedPlain++;
        await h.server.gateway.usage.flush();
      }
      expect(h.server.gateway.usage.full).toBe(true);
      const refused = await apiErrorOf(chat(onBudget));
      expect(refused.status).toBe(503);
      expect(refused.code).toBe('store_unavailable');
      expect(JSON.stringify(refused.error)).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|postgres:/i);
      // A key without limits still works, and its records are kept (in memory, past the bound), not dropped.
      for (let i = 0; i < 5; i++) expect(await outcome(chat(onPlain))).toBe('ok');
      servedPlain += 5;
      expect(h.logs()).toContain('usage outage buffer is full');
    } finally {
      await pg.start();
    }
    await waitFor(
      async () => {
        await h.server.gateway.usage.flush();
        return !h.server.gateway.usage.full && (await usageRows(url, plain.id)).rows >= servedPlain + 1;
      },
      { timeoutMs: 20_000, what: 'the buffer to be replayed' },
    );
    expect(await usageRows(url, plain.id)).toEqual({ rows: servedPlain + 2, ids: servedPlain + 2 });
    // The refused request never went upstream; the budgeted key works again without a restart.
    expect(h.fake.requests).toHaveLength(servedPlain + servedBudget);
    expect(await outcome(chat(onBudget))).toBe('ok');
    const audit = await waitFor(
      async () => (await h.admin<{ data: Array<{ action: string; actor: string; after: { refusedRequests?: number } | null }> }>('GET', '/audit?limit=100')).body.data.find((e) => e.action === 'security.usage_buffer_full'),
      { timeoutMs: 5000, what: 'the audit entry' },
    );
    expect(audit).toMatchObject({ actor: 'system:gateway', after: { refusedRequests: 1 } });
  }, 90_000);
});
