import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { startFakeOpenAI } from '../support/fake-openai.js';
import { startTestRedis } from '../support/redis-server.js';
import { spawnServe, type ServeProcess } from '../server/spawn-serve.js';

describe('kill -9 of a replica on the Redis backend', () => {
  it('charges its in-flight reservation in full once the lease expires, swept by the next replica', async () => {
    const upstreamKey = `sk-proj-${randomBytes(30).toString('base64url')}`;
    const adminToken = `kwadm_${randomBytes(30).toString('base64url')}`;
    const fake = await startFakeOpenAI({ apiKeys: [upstreamKey], behavior: { type: 'hang' } });
    const redis = await startTestRedis();
    const dataDir = await mkdtemp(path.join(tmpdir(), 'kw-redis-kill-'));
    const configFile = path.join(dataDir, 'keywarden.json');
    await writeFile(configFile, JSON.stringify({ limits: { redis: { url: redis.url, leaseMs: 900 } } }));
    const env = { KEYWARDEN_ADMIN_TOKEN: adminToken };
    const servers: ServeProcess[] = [];
    try {
      const first = await spawnServe(['--data', dataDir, '--config', configFile], env);
      servers.push(first);
      const admin = async <T,>(url: string, method: string, route: string, body?: unknown): Promise<T> =>
        (await (await fetch(`${url}/admin/v1${route}`, { method, headers: { authorization: `Bearer ${adminToken}` }, body: body === undefined ? undefined : JSON.stringify(body) })).json()) as T;
      await admin(first.url, 'POST', '/upstreams', { name: 'fake', provider: 'openai', base_url: fake.url, keys: [upstreamKey] });
      const { id, key } = await admin<{ id: string; key: string }>(first.url, 'POST', '/keys', { name: 'crash', limits: { budgets: [{ usd: 1, period: 'lifetime' }] } });
      expect((await (await fetch(`${first.url}/readyz`)).json())).toEqual({ status: 'ok', redis: 'up' });

      const client = new OpenAI({ apiKey: key, baseURL: `${first.url}/v1`, maxRetries: 0 });
      const pending = client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1000 }).catch(() => 'gone');
      // The reservation is in Redis (a leased ticket) before the request goes upstream, which hangs.
      for (let i = 0; i < 200 && fake.requests.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(fake.requests).toHaveLength(1);
      expect(await redis.command('ZCARD', 'kw:expiring')).toBe(':1\r\n');
      const reply = await redis.command('HGET', `kw:{${id}}:resv`, 'lifetime');
      const reserved = Number(reply.split('\r\n')[1]);
      expect(reserved).toBeGreaterThan(0);
      first.child.kill('SIGKILL');
      expect(await pending).toBe('gone');

      const second = await spawnServe(['--data', dataDir, '--config', configFile], env);
      servers.push(second);
      // Within the lease (900 ms) plus one beat of the new replica (300 ms), the lease is swept and charged.
      let spent = 0;
      for (let i = 0; i < 100 && spent === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        spent = (await admin<{ budgets: Array<{ spent_usd: number }> }>(second.url, 'GET', `/keys/${id}`)).budgets[0]?.spent_usd ?? 0;
      }
      expect(spent).toBeCloseTo(reserved, 12);
      expect(await redis.command('ZCARD', 'kw:expiring')).toBe(':0\r\n');
      // And it is durable: after a clean stop and a Redis wipe, the ledger still has the charge.
      await second.stop();
      expect(await redis.command('FLUSHALL')).toBe('+OK\r\n');
      const third = await spawnServe(['--data', dataDir, '--config', configFile], env);
      servers.push(third);
      const shown = await admin<{ budgets: Array<{ spent_usd: number }> }>(third.url, 'GET', `/keys/${id}`);
      expect(shown.budgets[0]?.spent_usd).toBeCloseTo(reserved, 12);
      await third.stop();
    } finally {
      for (const server of servers) server.child.kill('SIGKILL');
      await fake.close();
      await redis.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
