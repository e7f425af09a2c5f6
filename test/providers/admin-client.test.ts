import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KeywardenError } from '../../src/errors/index.js';
import { createOutboundPolicy } from '../../src/policy/outbound-url.js';
import { OpenAIAdminClient, parseRetryAfter } from '../../src/providers/openai/admin-client.js';
import { startFakeOpenAIAdmin, type FakeOpenAIAdmin } from '../support/fake-openai-admin.js';

const allowLocal = createOutboundPolicy({ allow: ['127.0.0.1'] });
const noSleep = (): Promise<void> => Promise.resolve();

let fake: FakeOpenAIAdmin;
beforeAll(async () => {
  fake = await startFakeOpenAIAdmin({ pageSize: 2 });
});
afterAll(async () => {
  await fake.close();
});

function clientFor(baseUrl: string, adminKey = fake.adminKey, extra: Partial<ConstructorParameters<typeof OpenAIAdminClient>[0]> = {}): OpenAIAdminClient {
  return new OpenAIAdminClient({ baseUrl, adminKey, outbound: allowLocal, sleep: noSleep, ...extra });
}

/** A hostile Admin API: answers every request with `respond`. */
async function hostile(respond: (res: ServerResponse, n: number) => void): Promise<{ url: string; hits: () => number; server: Server }> {
  let n = 0;
  const server = createServer((req, res) => {
    n++;
    req.resume();
    respond(res, n);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, hits: () => n, server };
}
const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
});

async function failure(promise: Promise<unknown>): Promise<KeywardenError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof KeywardenError) return err;
    throw err;
  }
  throw new Error('expected a failure');
}

describe('OpenAI Admin API client', () => {
  it('follows after/has_more/last_id across pages and lists every project and key', async () => {
    const projects = ['a', 'b', 'c', 'd', 'e'].map((name) => fake.addProject(`project ${name}`));
    for (let i = 0; i < 5; i++) fake.addKey(projects[0] as string);
    const client = clientFor(fake.url);
    try {
      const listed = await client.listProjects();
      expect(listed.map((p) => p.id)).toEqual(projects);
      const keys = await client.listProjectApiKeys(projects[0] as string);
      expect(keys).toHaveLength(5);
      expect(new Set(keys.map((k) => k.id)).size).toBe(5);
      // 5 items, 2 per page: three requests, the 2nd and 3rd with after=<last id of the previous page>.
      const projectPages = fake.requests.filter((r) => r.url.startsWith('/v1/organization/projects?'));
      expect(projectPages).toHaveLength(3);
      expect(projectPages[1]?.url).toContain(`after=${projects[1]}`);
    } finally {
      await client.close();
    }
  });

  it('backs off on 429 honouring retry-after and still returns the complete listing', async () => {
    const waits: number[] = [];
    const server = await hostile((res, n) => {
      if (n % 2 === 1) {
        res.writeHead(429, { 'retry-after': '2', 'content-type': 'application/json' });
        res.end('{"error":{"message":"slow down","type":"requests","param":null,"code":"rate_limit_exceeded"}}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data: [{ id: 'proj_1', object: 'organization.project', name: 'p' }], has_more: false, last_id: 'proj_1' }));
    });
    servers.push(server.server);
    const client = clientFor(server.url, 'sk-admin-x', { sleep: (ms) => (waits.push(ms), Promise.resolve()) });
    try {
      expect((await client.listProjects()).map((p) => p.id)).toEqual(['proj_1']);
      expect(waits).toEqual([2000]);
      expect(server.hits()).toBe(2);
    } finally {
      await client.close();
    }
  });

  it('gives up after maxRetries of 429 with a provider error, without looping', async () => {
    const server = await hostile((res) => {
      res.writeHead(429, { 'retry-after': '999999' });
      res.end('{}');
    });
    servers.push(server.server);
    const waits: number[] = [];
    const client = clientFor(server.url, 'sk-admin-x', { maxRetries: 3, maxRetryAfterMs: 5_000, sleep: (ms) => (waits.push(ms), Promise.resolve()) });
    try {
      const err = await failure(client.listProjects());
      expect(err.code).toBe('KW_PROVIDER_FAILED');
      expect(server.hits()).toBe(4);
      // A hostile retry-after is capped.
      expect(waits).toEqual([5_000, 5_000, 5_000]);
    } finally {
      await client.close();
    }
  });

  it('refuses a listing whose cursor never moves (has_more forever)', async () => {
    const server = await hostile((res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data: [{ id: 'proj_1', name: 'p' }], has_more: true, last_id: 'proj_1' }));
    });
    servers.push(server.server);
    const client = clientFor(server.url, 'sk-admin-x');
    try {
      const err = await failure(client.listProjects());
      expect(err.code).toBe('KW_PROVIDER_FAILED');
      expect(server.hits()).toBe(2);
    } finally {
      await client.close();
    }
  });

  it('stops after maxPages when a hostile server invents new cursors forever', async () => {
    const server = await hostile((res, n) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data: [{ id: `proj_${n}`, name: 'p' }], has_more: true, last_id: `proj_${n}` }));
    });
    servers.push(server.server);
    const client = clientFor(server.url, 'sk-admin-x', { maxPages: 7 });
    try {
      expect((await failure(client.listProjects())).code).toBe('KW_PROVIDER_FAILED');
      expect(server.hits()).toBe(7);
    } finally {
      await client.close();
    }
  });

  it('times out a server that never answers', async () => {
    const server = await hostile(() => undefined);
    servers.push(server.server);
    const client = clientFor(server.url, 'sk-admin-x', { timeoutMs: 200, maxRetries: 0 });
    try {
      const started = Date.now();
      const err = await failure(client.listProjects());
      expect(err.code).toBe('KW_PROVIDER_FAILED');
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await client.close();
    }
  });

  it('refuses unexpected shapes, invalid JSON and oversized bodies, and never echoes the admin key or the body', async () => {
    const adminKey = 'sk-admin-SECRETSECRETSECRET1234';
    const answers = [
      (res: ServerResponse) => res.end(JSON.stringify({ data: [{ id: 42 }], has_more: false })),
      (res: ServerResponse) => res.end('{not json'),
      (res: ServerResponse) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        const chunk = Buffer.alloc(1024 * 1024, 0x20);
        for (let i = 0; i < 20; i++) res.write(chunk);
        res.end();
      },
      (res: ServerResponse) => {
        res.writeHead(401);
        res.end(JSON.stringify({ error: { message: `Incorrect API key provided: ${adminKey}` } }));
      },
    ];
    for (const answer of answers) {
      const server = await hostile((res) => answer(res));
      servers.push(server.server);
      const client = clientFor(server.url, adminKey, { maxRetries: 0 });
      try {
        const err = await failure(client.listProjects());
        expect(err.code).toBe('KW_PROVIDER_FAILED');
        expect(err.message).not.toContain('SECRET');
      } finally {
        await client.close();
      }
    }
  });

  it('applies the outbound policy: a loopback base URL is refused unless allowlisted', () => {
    expect(() => new OpenAIAdminClient({ baseUrl: fake.url, adminKey: 'sk-admin-x', outbound: createOutboundPolicy({ allow: [] }) })).toThrow(KeywardenError);
    expect(() => new OpenAIAdminClient({ baseUrl: 'http://169.254.169.254/v1', adminKey: 'sk-admin-x', outbound: allowLocal })).toThrow(/not allowed/);
  });

  it('sums completions usage per api_key_id across buckets and usage pages (page/next_page)', async () => {
    const project = fake.addProject('usage');
    const key = fake.addKey(project);
    const other = fake.addKey(project);
    const base = Math.floor(Date.now() / 1000) - 600;
    for (let minute = 0; minute < 5; minute++) fake.addUsage(key.id, { inputTokens: 10, outputTokens: 5, requests: 1, ts: base + minute * 60 });
    fake.addUsage(other.id, { inputTokens: 1, outputTokens: 1, requests: 1, ts: base });
    fake.addUsage(key.id, { inputTokens: 1_000, outputTokens: 0, requests: 1, ts: base - 3_600 });
    const client = clientFor(fake.url);
    try {
      const usage = await client.completionsUsageByKey({ startTime: base, endTime: base + 600 });
      expect(usage.get(key.id)).toMatchObject({ input_tokens: 50, output_tokens: 25, num_model_requests: 5 });
      expect(usage.get(other.id)).toMatchObject({ input_tokens: 1, output_tokens: 1, num_model_requests: 1 });
      expect(fake.requests.filter((r) => r.url.includes('usage/completions') && r.url.includes('page=')).length).toBeGreaterThan(0);
    } finally {
      await client.close();
    }
  });

  it('deletes a key and a service account (404 on a second delete reads as "not deleted"), and reads the audit log', async () => {
    const project = fake.addProject('deletes');
    const key = fake.addKey(project);
    const bot = fake.addServiceAccountKey(project, 'bot');
    const client = clientFor(fake.url);
    try {
      expect(await client.deleteProjectApiKey(project, key.id)).toBe(true);
      expect(await client.deleteProjectApiKey(project, key.id)).toBe(false);
      expect(await client.deleteServiceAccount(project, bot.serviceAccountId ?? '')).toBe(true);
      expect(fake.keys().some((k) => k.id === key.id || k.id === bot.id)).toBe(false);
      const entries = await client.recentAuditLogs(10);
      expect(entries.length).toBeGreaterThan(0);
      expect(entries.every((e) => typeof e.type === 'string' && typeof e.effective_at === 'number')).toBe(true);
    } finally {
      await client.close();
    }
  });

  it('reads retry-after as seconds or an HTTP date', () => {
    expect(parseRetryAfter('3', 0)).toBe(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6_000);
    expect(parseRetryAfter('soon', 0)).toBeNull();
    expect(parseRetryAfter(undefined, 0)).toBeNull();
  });
});
