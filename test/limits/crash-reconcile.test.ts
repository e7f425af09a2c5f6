import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { startFakeOpenAI } from '../support/fake-openai.js';
import { spawnServe, type ServeProcess } from '../server/spawn-serve.js';
import { waitFor } from '../support/wait-for.js';

describe('crash reconciliation', () => {
  it('charges a reservation left open by kill -9 on the next start, so the crash cannot refill the budget', async () => {
    const upstreamKey = `sk-proj-${randomBytes(30).toString('base64url')}`;
    const adminToken = `kwadm_${randomBytes(30).toString('base64url')}`;
    const fake = await startFakeOpenAI({ apiKeys: [upstreamKey], behavior: { type: 'hang' } });
    const dataDir = await mkdtemp(path.join(tmpdir(), 'kw-crash-'));
    const env = { KEYWARDEN_ADMIN_TOKEN: adminToken };
    const servers: ServeProcess[] = [];
    try {
      const first = await spawnServe(['--data', dataDir], env);
      servers.push(first);
      const admin = async <T,>(url: string, method: string, route: string, body?: unknown): Promise<T> =>
        (await (await fetch(`${url}/admin/v1${route}`, { method, headers: { authorization: `Bearer ${adminToken}` }, body: body === undefined ? undefined : JSON.stringify(body) })).json()) as T;
      await admin(first.url, 'POST', '/upstreams', { name: 'fake', provider: 'openai', base_url: fake.url, keys: [upstreamKey] });
      const { id, key } = await admin<{ id: string; key: string }>(first.url, 'POST', '/keys', { name: 'crash', limits: { budgets: [{ usd: 1, period: 'lifetime' }] } });

      const client = new OpenAI({ apiKey: key, baseURL: `${first.url}/v1`, maxRetries: 0 });
      const pending = client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1000 }).catch(() => 'gone');

      // The reservation is journaled before the request goes upstream; the upstream hangs, so it stays open.
      const journal = path.join(dataDir, 'reservations.journal');
      const reserved = await waitFor(
        () => {
          const lines = existsSync(journal) ? readFileSync(journal, 'utf8').split('\n').filter(Boolean) : [];
          const open = lines.map((line) => JSON.parse(line) as { r?: { usd: number } }).find((line) => line.r)?.r;
          return open && fake.requests.length === 1 ? open : null;
        },
        { what: 'the journaled reservation and the upstream request' },
      );
      expect(fake.requests).toHaveLength(1);
      expect(reserved?.usd).toBeGreaterThan(0);
      first.child.kill('SIGKILL');
      expect(await pending).toBe('gone');

      const second = await spawnServe(['--data', dataDir], env);
      servers.push(second);
      const shown = await admin<{ budgets: Array<{ spent_usd: number }> }>(second.url, 'GET', `/keys/${id}`);
      expect(shown.budgets[0]?.spent_usd).toBeCloseTo(reserved?.usd ?? NaN, 12);
      expect(second.stderr()).toContain('charged open budget reservations');
      await second.stop();
    } finally {
      // A failed assertion must not leave a gateway running.
      for (const server of servers) server.child.kill('SIGKILL');
      await fake.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
