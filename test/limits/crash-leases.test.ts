// kill -9 on a key far from its budget, whose reservations are taken from journal leases (reservation-leases.ts):
// one journal line reserves a block for many requests, and no request writes a line of its own. The judges are the
// provider's bill (fake upstream, list prices) and the journal as a crash leaves it: every request the upstream saw
// must have been covered by lease lines already on disk, and after the restart the ledger must charge at least the
// bill plus the requests cut off at the upstream in full, and never more than the bill plus every lease line once.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { adminFetch } from '../support/admin-fetch.js';
import { startFakeOpenAI } from '../support/fake-openai.js';
import { startHarness } from '../support/gateway-harness.js';
import { journalReservations } from '../support/journal-reservations.js';
import { startUpstreamFront } from '../support/upstream-front.js';
import { BillingLedger } from '../support/fake-openai-billing.js';
import { spawnServe, type ServeProcess } from '../server/spawn-serve.js';
import { waitFor } from '../support/wait-for.js';

const sum = (values: Iterable<number>): number => [...values].reduce((a, b) => a + b, 0);

describe('crash reconciliation with journal leases', () => {
  it('covers every forwarded request by lease lines on disk, and after kill -9 charges at least the bill plus the cut-off requests, at most the bill plus every lease once', async () => {
    const upstreamKey = `sk-proj-${randomBytes(30).toString('base64url')}`;
    const adminToken = `kwadm_${randomBytes(30).toString('base64url')}`;
    const ledger = new BillingLedger();
    const fake = await startFakeOpenAI({ apiKeys: [upstreamKey], billing: ledger });
    const dataDir = await mkdtemp(path.join(tmpdir(), 'kw-crash-leases-'));
    const journalFile = path.join(dataDir, 'reservations.journal');
    // The judge at the upstream's door: the journal's reserved USD at the moment each request arrives.
    const seen: Array<{ arrived: number; journaledUsd: number }> = [];
    const front = await startUpstreamFront(fake.url, () => seen.push({ arrived: seen.length + 1, journaledUsd: sum(journalReservations(journalFile).values()) }));
    const env = { KEYWARDEN_ADMIN_TOKEN: adminToken };
    const servers: ServeProcess[] = [];
    try {
      const first = await spawnServe(['--data', dataDir], env);
      servers.push(first);
      const call = adminFetch(adminToken);
      const admin = async <T,>(url: string, method: string, route: string, body?: unknown): Promise<T> => (await call<T>(url, method, route, body)).body;
      await admin(first.url, 'POST', '/upstreams', { name: 'front', provider: 'openai', base_url: front.url, keys: [upstreamKey] });
      const limits = (usd: number): Record<string, unknown> => ({ rpm: 100_000, tpm: 1_000_000_000, concurrency: 1000, max_output_tokens: 4096, budgets: [{ usd, period: 'lifetime' }] });
      const body = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'Tell me about lighthouses.' }] };

      // One request's reservation, read from its own line: a key near its budget ($0.05) journals each reservation.
      const near = await admin<{ key: string }>(first.url, 'POST', '/keys', { name: 'near', limits: limits(0.05) });
      await new OpenAI({ apiKey: near.key, baseURL: `${first.url}/v1`, maxRetries: 0 }).chat.completions.create(body);
      const ownLines = [...journalReservations(journalFile)].filter(([id]) => id.startsWith('res_'));
      expect(ownLines).toHaveLength(1);
      const reservation = ownLines[0]?.[1] ?? NaN;
      expect(reservation).toBeGreaterThan(0);
      const beforeLeases = sum(journalReservations(journalFile).values());
      seen.length = 0;
      const billedBefore = ledger.totalUsd();

      // A key far from its budget: leases.
      const { id, key } = await admin<{ id: string; key: string }>(first.url, 'POST', '/keys', { name: 'far', limits: limits(1000) });
      const client = new OpenAI({ apiKey: key, baseURL: `${first.url}/v1`, maxRetries: 0 });
      const ask = (): Promise<OpenAI.Chat.Completions.ChatCompletion> => client.chat.completions.create(body);
      fake.queueBehavior({ type: 'hang' }, { type: 'hang' }, { type: 'hang' });
      const hanging = [ask(), ask(), ask()].map((p) => p.catch(() => 'gone' as const));
      await waitFor(() => fake.requests.length >= 4, { what: 'the three hanging requests at the upstream' });
      let answered = 0;
      const rest = Array.from({ length: 150 }, () =>
        ask().then(
          () => {
            answered += 1;
            if (answered === 100) first.child.kill('SIGKILL');
          },
          () => undefined,
        ),
      );
      await Promise.all([...hanging, ...rest]);
      expect(answered).toBeGreaterThanOrEqual(100);
      expect(await Promise.all(hanging)).toEqual(['gone', 'gone', 'gone']);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const billed = ledger.totalUsd() - billedBefore;
      expect(billed).toBeGreaterThan(0);

      const lines = journalReservations(journalFile);
      const leases = [...lines].filter(([lineId]) => lineId.startsWith('lease_'));
      // Leases, not a line per request: far fewer lines than requests, each covering several reservations.
      expect(leases.length).toBeGreaterThan(0);
      expect(leases.length).toBeLessThan(seen.length / 4);
      for (const [, usd] of leases) expect(usd).toBeGreaterThanOrEqual(8 * reservation * (1 - 1e-9));
      // At each arrival the journal already reserved at least every request forwarded so far (this one included).
      const uncovered = seen.filter((s) => s.journaledUsd - beforeLeases < s.arrived * reservation * (1 - 1e-9));
      expect(uncovered).toEqual([]);
      const allLeased = sum(leases.map(([, usd]) => usd));

      const second = await spawnServe(['--data', dataDir], env);
      servers.push(second);
      const shown = await admin<{ budgets: Array<{ period: string; spent_usd: number }> }>(second.url, 'GET', `/keys/${id}`);
      const spent = shown.budgets.find((b) => b.period === 'lifetime')?.spent_usd ?? NaN;
      expect(spent).toBeGreaterThanOrEqual(billed + 3 * reservation * (1 - 1e-9));
      // At most: the settled spend that committed (what was billed for them, at most the whole bill) plus every
      // lease recovery found open, charged in full (a lease whose requests settled only in part is charged whole).
      expect(spent).toBeLessThanOrEqual((billed + allLeased) * (1 + 1e-9));
      expect(second.stderr()).toContain('charged open budget reservations');
      await second.stop();
    } finally {
      for (const server of servers) server.child.kill('SIGKILL');
      await front.close();
      await fake.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('leaves no lease open across a clean restart: the spend after it is what the provider billed, nothing more', async () => {
    const ledger = new BillingLedger();
    const h = await startHarness({ fake: { billing: ledger } });
    try {
      const { id, key } = await h.createKey({ limits: { rpm: 100_000, max_output_tokens: 4096, budgets: [{ usd: 1000, period: 'lifetime' }] } });
      const client = h.client(key);
      for (let round = 0; round < 5; round++) {
        await Promise.all(Array.from({ length: 30 }, (_, i) => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `lighthouse ${round}.${i}` }] })));
      }
      const journal = readFileSync(path.join(h.dataDir, 'reservations.journal'), 'utf8');
      // The key took its reservations from leases (far fewer lines than requests).
      const leaseLines = journal.split('\n').filter((line) => line.startsWith('{"r":{"id":"lease_'));
      expect(leaseLines.length).toBeGreaterThan(0);
      expect(leaseLines.length).toBeLessThan(150 / 4);
      await h.restart();
      const spent = (await h.admin<{ budgets: Array<{ spent_usd: number }> }>('GET', `/keys/${id}`)).body.budgets[0]?.spent_usd ?? NaN;
      const billed = ledger.totalUsd();
      expect(billed).toBeGreaterThan(0);
      expect(spent).toBeCloseTo(billed, 9);
    } finally {
      await h.close();
    }
  });
});
