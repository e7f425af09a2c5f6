// The reservation journal writes the lines of one event-loop turn together (reservation-journal.ts), and each
// admitted request waits for that write before it is forwarded. The judge here is the upstream side: a front placed
// between the gateway and the fake upstream reads the journal file at the moment each request arrives, before
// passing it on. Every request that reaches it must already have its reservation line on disk, so a kill -9 at that
// moment would charge it on the next start.
import { randomBytes } from 'node:crypto';
import fs, { readFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { describe, expect, it, vi } from 'vitest';
import { apiErrorOf } from '../support/api-error.js';
import { startFakeOpenAI } from '../support/fake-openai.js';
import { startHarness } from '../support/gateway-harness.js';
import { journalReservations } from '../support/journal-reservations.js';
import { startUpstreamFront } from '../support/upstream-front.js';
import { spawnServe, type ServeProcess } from '../server/spawn-serve.js';
import { waitFor } from '../support/wait-for.js';

const REQUESTS = 240;
const CONCURRENCY = 48;

describe('reservation lines are on disk before the request goes upstream', () => {
  it('every request reaching the upstream is already journaled, under concurrent load', async () => {
    const upstreamKey = `sk-proj-${randomBytes(30).toString('base64url')}`;
    const adminToken = `kwadm_${randomBytes(30).toString('base64url')}`;
    const fake = await startFakeOpenAI({ apiKeys: [upstreamKey] });
    const dataDir = await mkdtemp(path.join(tmpdir(), 'kw-journal-forward-'));
    const journal = path.join(dataDir, 'reservations.journal');
    // Per request that reached the front: how many reservations the journal held then, and how many requests had
    // arrived by then (this one included).
    const seen: Array<{ arrived: number; journaled: number }> = [];
    let arrived = 0;
    const front = await startUpstreamFront(fake.url, () => {
      arrived++;
      seen.push({ arrived, journaled: journalReservations(journal).size });
    });
    let server: ServeProcess | undefined;
    try {
      server = await spawnServe(['--data', dataDir], { KEYWARDEN_ADMIN_TOKEN: adminToken });
      const url = server.url;
      const admin = async <T,>(method: string, route: string, body?: unknown): Promise<T> =>
        (await (await fetch(`${url}/admin/v1${route}`, { method, headers: { authorization: `Bearer ${adminToken}` }, body: body === undefined ? undefined : JSON.stringify(body) })).json()) as T;
      await admin('POST', '/upstreams', { name: 'front', provider: 'openai', base_url: front.url, keys: [upstreamKey] });
      const { key } = await admin<{ key: string }>('POST', '/keys', { name: 'journaled', limits: { rpm: 100_000, budgets: [{ usd: 100, period: 'day' }] } });
      const client = new OpenAI({ apiKey: key, baseURL: `${url}/v1`, maxRetries: 0 });

      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < REQUESTS) {
          next++;
          const answer = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `request ${next}` }] });
          expect(answer.choices[0]?.message.content).toBeTypeOf('string');
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));

      expect(seen).toHaveLength(REQUESTS);
      // Lines are only added while no compaction runs (a few hundred lines are far below its threshold), so the
      // count at each arrival is a lower bound of the reservations written before it.
      const early = seen.filter((s) => s.journaled < s.arrived);
      expect(early).toEqual([]);
      expect(journalReservations(journal).size).toBe(REQUESTS);
    } finally {
      await server?.stop();
      await front.close();
      await fake.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

// With the key's lease (reservation-leases.ts) written, requests take their reservations from it and write
// nothing; this case fills the disk when the next lease must be written, so it also fails if a request taken from a
// lease whose line is still queued were forwarded without waiting for it.
describe('a reservation line that cannot be written', () => {
  it('keeps every request of that turn from the upstream, answers each with a clear error, and charges nothing', async () => {
    const h = await startHarness();
    try {
      const { id, key } = await h.createKey({ limits: { budgets: [{ usd: 5, period: 'day' }] } });
      const client = h.client(key);
      const ask = (): Promise<unknown> => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 50 });
      await ask(); // the key's spend is loaded; the next admissions take the in-memory path
      // A key this far from its budget journals leases (reservation-leases.ts): the first request's lease is closed
      // once it settles with nothing outstanding, so the next admission must write a new line.
      const journalFile = path.join(h.dataDir, 'reservations.journal');
      await waitFor(() => /"c":\[[^\]]*"lease_/.test(readFileSync(journalFile, 'utf8')), { what: "the first request's lease to close" });
      h.fake.reset();
      // The disk fills up for the journal's reservation lines only (the database and the logs still write).
      const original = fs.writeSync;
      const full = vi.spyOn(fs, 'writeSync').mockImplementation(((...args: unknown[]) => {
        if (typeof args[1] === 'string' && args[1].startsWith('{"r":')) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        return Reflect.apply(original, fs, args) as number;
      }));
      syncBuiltinESMExports();
      let errors: Array<{ status?: number; code?: string | null; message: string }>;
      try {
        errors = await Promise.all(Array.from({ length: 16 }, () => apiErrorOf(ask())));
      } finally {
        full.mockRestore();
        syncBuiltinESMExports();
      }
      expect(h.fake.requests).toHaveLength(0);
      for (const error of errors) {
        expect(error.status).toBeGreaterThanOrEqual(500);
        expect(error.message).toMatch(/ledger/i);
        expect(error.message).not.toMatch(/ENOSPC|writeSync|\/tmp\//);
      }
      // Nothing of theirs stays reserved: the budget still has room for its full worth of requests.
      const before = (await h.admin<{ budgets: Array<{ spent_usd: number; reserved_usd?: number }> }>('GET', `/keys/${id}`)).body.budgets[0];
      await ask();
      expect(h.fake.requests).toHaveLength(1);
      // After a clean restart the refused requests are not charged either.
      await h.restart();
      const after = (await h.admin<{ budgets: Array<{ spent_usd: number }> }>('GET', `/keys/${id}`)).body.budgets[0];
      expect(after?.spent_usd).toBeLessThan(0.001);
      expect(after?.spent_usd).toBeGreaterThan(before?.spent_usd ?? Infinity);
    } finally {
      await h.close();
    }
  });
});
