import { randomBytes } from 'node:crypto';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { PgKeyCache } from '../../src/store/postgres/pg-key-cache.js';
import { PgDatabase } from '../../src/store/postgres/pg-database.js';
import { apiErrorOf } from '../support/api-error.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { acquireTestPostgres, releaseTestPostgres, type TestPostgres } from '../support/postgres-server.js';

/** Two gateways (replicas A and B) on one PostgreSQL database, sharing the master key as replicas do. */
let pg: TestPostgres;
let url: string;
let a: Harness;
let b: Harness;

beforeAll(async () => {
  pg = await acquireTestPostgres();
  url = await pg.createDatabase();
  const env = { KEYWARDEN_MASTER_KEY: randomBytes(32).toString('hex') };
  a = await startHarness({ config: { store: { url } }, env });
  b = await startHarness({ config: { store: { url } }, env, withUpstream: false });
}, 60_000);
afterAll(async () => {
  await b?.close();
  await a?.close();
  await releaseTestPostgres();
}, 30_000);

const chat = (client: OpenAI): Promise<unknown> => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });

/** Sends requests to `client` back to back until one is refused; returns how long that took after `since`. */
async function msUntilRefused(client: OpenAI, since: number, code: string): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const outcome = await chat(client).then(
      () => 'ok',
      (err: unknown) => (err instanceof OpenAI.APIError ? String(err.code) : 'other'),
    );
    if (outcome === code) return performance.now() - since;
    if (outcome !== 'ok') throw new Error(`unexpected outcome ${outcome}`);
  }
  throw new Error(`never refused with ${code}`);
}

/** Retries until the key is accepted again (bounded): an unsuspend or widening also propagates within 100 ms. */
async function waitUntilAccepted(client: OpenAI): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (await chat(client).then(() => true, () => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error('never accepted again');
}

describe('two replicas on one PostgreSQL', () => {
  it('both really run on PostgreSQL', () => {
    expect(a.server.services.store.kind).toBe('postgres');
    expect(b.server.services.store.kind).toBe('postgres');
  });

  it('a key created on A works on B at once; revoked on A, B refuses it within 100 ms (measured)', async () => {
    const { id, key } = await a.createKey({ name: 'replicated' });
    const onB = b.client(key);
    // Warm B's cache: the key is now remembered there, so only propagation can refuse it.
    await chat(onB);
    await chat(onB);
    const storeB = b.server.services.store as unknown as PostgresStore;
    const generation = storeB.keyCache.generation;
    let evictedAt: number | null = null;
    const watch = setInterval(() => {
      if (evictedAt === null && storeB.keyCache.generation !== generation) evictedAt = performance.now();
    }, 1);
    try {
      const sent = performance.now();
      expect((await a.admin('POST', `/keys/${id}/revoke`)).status).toBe(200);
      const returned = performance.now();
      const refusedAfter = await msUntilRefused(onB, returned, 'key_revoked');
      while (evictedAt === null && performance.now() - sent < 2000) await new Promise((resolve) => setTimeout(resolve, 1));
      expect(evictedAt).not.toBeNull();
      // B dropped the key no later than 100 ms after A's admin call returned (usually before it returned).
      const propagation = (evictedAt as unknown as number) - returned;
      expect(propagation).toBeLessThan(100);
      // And the SDK saw the refusal within 100 ms plus one request's own duration.
      expect(refusedAfter).toBeLessThan(100 + 400);
      console.info(`revoke on A -> B evicted ${propagation.toFixed(1)} ms after the admin call returned; B refused within ${refusedAfter.toFixed(1)} ms`);
    } finally {
      clearInterval(watch);
    }
  });

  it('suspend, update and rotate on B apply on A within 100 ms', async () => {
    const { id, key } = await a.createKey({ name: 'multi' });
    const onA = a.client(key);
    await chat(onA);
    let t = performance.now();
    expect((await b.admin('POST', `/keys/${id}/suspend`, { reason: 'test' })).status).toBe(200);
    expect(await msUntilRefused(onA, t, 'key_suspended')).toBeLessThan(500);
    expect((await b.admin('POST', `/keys/${id}/unsuspend`)).status).toBe(200);
    await waitUntilAccepted(onA);
    t = performance.now();
    expect((await b.admin('PATCH', `/keys/${id}`, { models: ['gpt-4.1*'] })).status).toBe(200);
    expect(await msUntilRefused(onA, t, 'model_not_allowed')).toBeLessThan(500);
    expect((await b.admin('PATCH', `/keys/${id}`, { models: [] })).status).toBe(200);
    await waitUntilAccepted(onA);
    const rotated = await b.admin<{ key: string }>('POST', `/keys/${id}/rotate`, { grace: 0 });
    expect(rotated.status).toBe(200);
    t = performance.now();
    expect(await msUntilRefused(onA, t, 'invalid_api_key')).toBeLessThan(500);
    await chat(a.client(rotated.body.key));
  });

  it('a revocation made by hand in SQL (no admin API) is refused on both replicas on the next request', async () => {
    const { id, key } = await a.createKey({ name: 'sql' });
    await chat(a.client(key));
    await chat(b.client(key));
    const start = performance.now();
    await pg.query(url, 'UPDATE virtual_keys SET revoked_at = $1 WHERE id = $2', [Date.now(), id]);
    const onA = await msUntilRefused(a.client(key), start, 'key_revoked');
    const onB = await msUntilRefused(b.client(key), start, 'key_revoked');
    expect(Math.max(onA, onB)).toBeLessThan(600);
  });

  it('with its notification connection cut, a replica stops trusting its cache: the revoked key is refused', async () => {
    const { id, key } = await a.createKey({ name: 'cut' });
    const onB = b.client(key);
    await chat(onB);
    // Kill every LISTEN connection (named by application_name, pg-key-listener.ts): the notification of the
    // revocation below can reach nobody.
    const killed = await pg.query(url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'keywarden %'");
    expect(killed.rowCount).toBe(2);
    await pg.query(url, 'UPDATE virtual_keys SET revoked_at = $1 WHERE id = $2', [Date.now(), id]);
    expect((await apiErrorOf(chat(onB))).code).toBe('key_revoked');
    // And it reconnects by itself: B listens again within a few seconds.
    const storeB = b.server.services.store as unknown as PostgresStore;
    const deadline = Date.now() + 10_000;
    while (!storeB.listening && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(storeB.listening).toBe(true);
  });

  it('audit appends from both replicas at once form one chain that verifies', async () => {
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).admin('POST', '/keys', { name: `audited-${i}` })),
    );
    const verify = await a.admin<{ ok: boolean; entries: number }>('GET', '/audit/verify');
    expect(verify.status).toBe(200);
    expect(verify.body.ok).toBe(true);
    expect((await b.admin<{ ok: boolean }>('GET', '/audit/verify')).body.ok).toBe(true);
  });
});

describe('the key cache without notifications', () => {
  it('drops what it remembered once the version counter moves, within its check interval', async () => {
    const db = new PgDatabase({ url });
    const cache = new PgKeyCache(db, { versionCheckMs: 20, maxStaleMs: 1000, outageGraceMs: 0 });
    try {
      await cache.start();
      // Listening as far as it knows, but no notification will ever arrive: only the version check can help.
      cache.onUp();
      const record = (await a.server.services.store.keys.list())[0]!;
      cache.remember('h', record, cache.generation);
      expect(cache.get('h')).toBeDefined();
      await pg.query(url, "UPDATE virtual_keys SET name = name || '!' WHERE id = $1", [record.id]);
      const start = performance.now();
      while (cache.get('h') !== undefined && performance.now() - start < 2000) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(cache.get('h')).toBeUndefined();
      expect(performance.now() - start).toBeLessThan(500);
    } finally {
      cache.stop();
      await db.close();
    }
  });

  it('refuses to use what it remembered once the version check is too old (database unreachable)', () => {
    const cache = new PgKeyCache(new PgDatabase({ url: 'postgres://nobody@127.0.0.1:1/none' }), { versionCheckMs: 20, maxStaleMs: 50, outageGraceMs: 60_000 });
    cache.onUp();
    cache.remember('h', {} as never, cache.generation);
    // Never checked successfully: nothing is served from memory.
    expect(cache.get('h')).toBeUndefined();
  });
});
