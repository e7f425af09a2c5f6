// kill -9 while settlements are batched (issue 14 fast path): requests that finished in the last few milliseconds
// have settled in memory but their spend may not be committed yet, and requests still at the upstream hold open
// reservations. After the restart the ledger must charge at least what the provider billed for the finished ones
// plus every open reservation in full, and never more than the reservations of all of them: a crash may
// overstate spend, never understate it.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { startFakeOpenAI } from '../support/fake-openai.js';
import { BillingLedger } from '../support/fake-openai-billing.js';
import { spawnServe, type ServeProcess } from '../server/spawn-serve.js';
import { waitFor } from '../support/wait-for.js';

interface JournalLine {
  r?: { id: string; usd: number };
  s?: string;
  /** A settlement batch's close line (counted as closing here whether or not its batch committed). */
  c?: string[];
}

function journalState(file: string): { reserved: Map<string, number>; closed: Set<string> } {
  const reserved = new Map<string, number>();
  const closed = new Set<string>();
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  for (const line of text.split('\n').filter(Boolean)) {
    const parsed = JSON.parse(line) as JournalLine;
    if (parsed.r) reserved.set(parsed.r.id, parsed.r.usd);
    if (parsed.s !== undefined) closed.add(parsed.s);
    for (const id of parsed.c ?? []) closed.add(id);
  }
  return { reserved, closed };
}

describe('crash reconciliation with batched settlements', () => {
  it('charges finished-but-unflushed and in-flight requests so that the ledger never understates spend after kill -9', async () => {
    const upstreamKey = `sk-proj-${randomBytes(30).toString('base64url')}`;
    const adminToken = `kwadm_${randomBytes(30).toString('base64url')}`;
    const ledger = new BillingLedger();
    const fake = await startFakeOpenAI({ apiKeys: [upstreamKey], billing: ledger });
    const dataDir = await mkdtemp(path.join(tmpdir(), 'kw-crash-batch-'));
    const env = { KEYWARDEN_ADMIN_TOKEN: adminToken };
    const servers: ServeProcess[] = [];
    try {
      const first = await spawnServe(['--data', dataDir], env);
      servers.push(first);
      const admin = async <T,>(url: string, method: string, route: string, body?: unknown): Promise<T> =>
        (await (await fetch(`${url}/admin/v1${route}`, { method, headers: { authorization: `Bearer ${adminToken}` }, body: body === undefined ? undefined : JSON.stringify(body) })).json()) as T;
      await admin(first.url, 'POST', '/upstreams', { name: 'fake', provider: 'openai', base_url: fake.url, keys: [upstreamKey] });
      // The benchmark's key shape: rates, tokens, concurrency, an output cap and two budgets (one lifetime, so the
      // check below reads one number).
      const { id, key } = await admin<{ id: string; key: string }>(first.url, 'POST', '/keys', {
        name: 'crash-batch',
        limits: { rpm: 100_000, tpm: 1_000_000_000, concurrency: 1000, max_output_tokens: 4096, budgets: [{ usd: 100, period: 'lifetime' }, { usd: 1000, period: 'month' }] },
      });
      const client = new OpenAI({ apiKey: key, baseURL: `${first.url}/v1`, maxRetries: 0 });
      const ask = (): Promise<OpenAI.Chat.Completions.ChatCompletion> => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Tell me about lighthouses.' }] });

      // Three requests that will still be at the upstream when the gateway dies.
      fake.queueBehavior({ type: 'hang' }, { type: 'hang' }, { type: 'hang' });
      const hanging = [ask(), ask(), ask()].map((p) => p.catch(() => 'gone' as const));
      await waitFor(() => fake.requests.length === 3, { what: 'the three hanging requests at the upstream' });
      // Then 60 more; the gateway is killed the moment the 20th answer arrives, while answers are streaming in, so
      // the latest settlements sit in the 20 ms batch the kill interrupts and others are still at the upstream.
      let answered = 0;
      const rest = Array.from({ length: 60 }, () =>
        ask().then(
          () => {
            answered += 1;
            if (answered === 20) first.child.kill('SIGKILL');
          },
          () => undefined,
        ),
      );
      await Promise.all([...hanging, ...rest]);
      expect(answered).toBeGreaterThanOrEqual(20);
      expect(await Promise.all(hanging)).toEqual(['gone', 'gone', 'gone']);
      // What the provider billed, by its own count, for every answer it generated (some after the gateway died).
      await new Promise((resolve) => setTimeout(resolve, 300));
      const billed = ledger.totalUsd();
      expect(billed).toBeGreaterThan(0);

      const journal = journalState(path.join(dataDir, 'reservations.journal'));
      // Every request the upstream saw was journaled before it was forwarded; the 3 hanging ones are still open.
      expect(journal.reserved.size).toBeGreaterThanOrEqual(fake.requests.length);
      const open = [...journal.reserved].filter(([rid]) => !journal.closed.has(rid));
      expect(open.length).toBeGreaterThanOrEqual(3);
      const allReserved = [...journal.reserved.values()].reduce((a, b) => a + b, 0);
      const worst = Math.max(...journal.reserved.values());
      expect(worst).toBeGreaterThan(0);

      const second = await spawnServe(['--data', dataDir], env);
      servers.push(second);
      const shown = await admin<{ budgets: Array<{ period: string; spent_usd: number }> }>(second.url, 'GET', `/keys/${id}`);
      const spent = shown.budgets.find((b) => b.period === 'lifetime')?.spent_usd ?? NaN;
      // Never below what the provider billed plus the three hanging worst cases (requests cut off at the upstream
      // are charged their whole reservation, at least what they were billed); never above all reservations, each
      // charged once: a kill between a settlement batch's commit and its journal close lines does not charge those
      // reservations again (the batch's tagged close line precedes its commit; crash-settled-window.test.ts).
      expect(spent).toBeGreaterThanOrEqual(billed + 3 * worst * (1 - 1e-9));
      expect(spent).toBeLessThanOrEqual(allReserved * (1 + 1e-9));
      expect(second.stderr()).toContain('charged open budget reservations');
      // The restarted gateway keeps counting from there: a request is admitted and charged on top.
      const client2 = new OpenAI({ apiKey: key, baseURL: `${second.url}/v1`, maxRetries: 0 });
      await client2.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'And one more.' }] });
      await waitFor(
        async () => ((await admin<{ budgets: Array<{ period: string; spent_usd: number }> }>(second.url, 'GET', `/keys/${id}`)).budgets.find((b) => b.period === 'lifetime')?.spent_usd ?? 0) > spent,
        { what: 'the new request to be charged' },
      );
      await second.stop();
    } finally {
      for (const server of servers) server.child.kill('SIGKILL');
      await fake.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
