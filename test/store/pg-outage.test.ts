import { randomBytes } from 'node:crypto';
import type OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiErrorOf } from '../support/api-error.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { acquireTestPostgres, releaseTestPostgres, type TestPostgres } from '../support/postgres-server.js';

/** PostgreSQL stopped for a few seconds under a running gateway, then started again: no gateway restart. */
let pg: TestPostgres;
let h: Harness;

beforeAll(async () => {
  pg = await acquireTestPostgres();
  const url = await pg.createDatabase();
  h = await startHarness({ config: { store: { url, outageKeyCacheMs: 20_000 } }, env: { KEYWARDEN_MASTER_KEY: randomBytes(32).toString('hex') } });
}, 60_000);
afterAll(async () => {
  await h?.close();
  await releaseTestPostgres();
}, 30_000);

const chat = (client: OpenAI): Promise<unknown> => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });

async function readyz(): Promise<{ status: number; body: Record<string, string> }> {
  const res = await fetch(`${h.server.url}/readyz`);
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('PostgreSQL unreachable for a few seconds', () => {
  it('known keys keep working, unknown keys and admin writes answer 503 store_unavailable, usage is written on return', async () => {
    expect((await readyz()).body).toMatchObject({ status: 'ok', postgres: 'up' });
    const known = await h.createKey({ name: 'known' });
    const unseen = await h.createKey({ name: 'unseen' });
    await chat(h.client(known.key));
    await h.server.gateway.usage.flush();
    const before = (await h.admin<{ data: unknown[] }>('GET', '/usage/records')).body.data.length;

    await pg.stop();
    try {
      await until('readyz to report postgres down', async () => (await readyz()).body.postgres === 'down');
      expect((await readyz()).body.status).toBe('degraded');
      // A key this replica already checked keeps working from its cache, within the configured grace.
      for (let i = 0; i < 3; i++) await chat(h.client(known.key));
      // One it never saw cannot be checked: refused with a stable 503, not a 500.
      const err = await apiErrorOf(chat(h.client(unseen.key)));
      expect(err.status).toBe(503);
      expect(err.code).toBe('store_unavailable');
      expect(JSON.stringify(err.error)).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|postgres/i);
      // Admin writes are refused, never half-applied.
      const write = await h.admin<{ error: { code: string } }>('POST', '/keys', { name: 'during-outage' });
      expect(write.status).toBe(503);
      expect(write.body.error.code).toBe('store_unavailable');
    } finally {
      await pg.start();
    }

    await until('readyz to report postgres up', async () => (await readyz()).body.postgres === 'up');
    await until('admin writes to work again', async () => (await h.admin('POST', '/keys', { name: 'after' })).status === 201);
    await chat(h.client(unseen.key));
    // The three requests served during the outage were buffered and written once the database returned.
    await until('the outage usage to be written', async () => {
      await h.server.gateway.usage.flush();
      return (await h.admin<{ data: unknown[] }>('GET', '/usage/records')).body.data.length >= before + 4;
    });
    expect((await h.admin<{ data: Array<{ key_id: string }> }>('GET', `/usage/records?key_id=${known.id}`)).body.data).toHaveLength(4);
  }, 60_000);
});
