import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../cli/run-cli.js';
import { closedPortUrl, startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai.js';
import { spawnServe, type ServeProcess } from '../server/spawn-serve.js';
import { startCountingProxy, type CountingProxy } from './counting-proxy.js';

const upstreamKey = `sk-proj-${randomBytes(30).toString('base64url')}`;
const adminToken = `kwadm_${randomBytes(30).toString('base64url')}`;
const dirs: string[] = [];
let fake: FakeOpenAI;
let proxy: CountingProxy;

beforeAll(async () => {
  fake = await startFakeOpenAI({ apiKeys: [upstreamKey] });
  proxy = await startCountingProxy();
});
afterAll(async () => {
  await fake.close();
  await proxy.close();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** A gateway process with one upstream (at `baseUrl`) and one virtual key. */
async function gatewayWith(env: NodeJS.ProcessEnv, baseUrl: string): Promise<{ serve: ServeProcess; key: string }> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'kw-proxy-'));
  dirs.push(dataDir);
  const serve = await spawnServe(['--data', dataDir], { KEYWARDEN_ADMIN_TOKEN: adminToken, ...env });
  const cliEnv = { KEYWARDEN_ADMIN_TOKEN: adminToken, KEYWARDEN_URL: serve.url, UPSTREAM: upstreamKey };
  const added = await cli(['upstreams', 'add', '--name', 'fake', '--provider', 'openai', '--base-url', baseUrl, '--key-env', 'UPSTREAM'], cliEnv);
  expect(added.status, added.stderr).toBe(0);
  const created = await cli(['keys', 'create', '--name', 'app', '--json'], cliEnv);
  expect(created.status, created.stderr).toBe(0);
  return { serve, key: (JSON.parse(created.stdout) as { key: string }).key };
}

async function chat(serve: ServeProcess, key: string): Promise<string | null | undefined> {
  const client = new OpenAI({ apiKey: key, baseURL: `${serve.url}/v1`, maxRetries: 0 });
  const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
  return completion.choices[0]?.message.content;
}

describe('outbound proxy for upstream requests', () => {
  it('tunnels upstream requests through HTTP_PROXY, and the answer is the upstream one', async () => {
    const before = proxy.tunnels.length;
    const { serve, key } = await gatewayWith({ HTTP_PROXY: proxy.url }, fake.url);
    try {
      const served = fake.requestCount;
      expect(await chat(serve, key)).toBeTruthy();
      expect(fake.requestCount).toBe(served + 1);
      const opened = proxy.tunnels.slice(before);
      expect(opened).toEqual([`127.0.0.1:${fake.port}`]);
    } finally {
      await serve.stop();
    }
    // Tunnelled with CONNECT, never sent as absolute-form requests the proxy would parse.
    expect(proxy.forwarded).toEqual([]);
  });

  it('honours the lower-case http_proxy spelling and NO_PROXY: a host listed there is reached directly', async () => {
    const before = proxy.tunnels.length;
    const { serve, key } = await gatewayWith({ http_proxy: proxy.url, NO_PROXY: 'example.invalid, 127.0.0.1' }, fake.url);
    try {
      expect(await chat(serve, key)).toBeTruthy();
      expect(await chat(serve, key)).toBeTruthy();
    } finally {
      await serve.stop();
    }
    expect(proxy.tunnels.length).toBe(before);
  });

  it('a proxy that is down gives the client 502 upstream_unavailable and the operator a log line with host, errno and attempts', async () => {
    const deadProxy = (await closedPortUrl()).replace(/\/v1$/, '');
    const { serve, key } = await gatewayWith({ HTTPS_PROXY: deadProxy, HTTP_PROXY: deadProxy }, fake.url);
    try {
      const client = new OpenAI({ apiKey: key, baseURL: `${serve.url}/v1`, maxRetries: 0 });
      const failure = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }).catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(OpenAI.APIError);
      expect((failure as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
      expect((failure as InstanceType<typeof OpenAI.APIError>).code).toBe('upstream_unavailable');
    } finally {
      await serve.stop();
    }
    const line = serve
      .stderr()
      .split('\n')
      .filter((text) => text.includes('request failed'))
      .map((text) => JSON.parse(text) as Record<string, unknown>)[0];
    expect(line).toMatchObject({ level: 'error', code: 'KW_UPSTREAM_UNAVAILABLE', upstreamHost: `127.0.0.1:${fake.port}` });
    expect(typeof line?.errno).toBe('string');
    expect(line?.attempts).toBeGreaterThanOrEqual(1);
    expect(serve.stderr()).not.toContain(upstreamKey);
    expect(serve.stderr()).not.toContain(key);
  });
});

describe('upstream failure log lines', () => {
  it('name the host, the errno and every attempt of a refused connection, never a secret', async () => {
    const refused = await closedPortUrl();
    const { serve, key } = await gatewayWith({}, refused);
    try {
      const client = new OpenAI({ apiKey: key, baseURL: `${serve.url}/v1`, maxRetries: 0 });
      const failure = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }).catch((err: unknown) => err);
      expect((failure as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
      // The client learns nothing about where the upstream is.
      expect(JSON.stringify((failure as InstanceType<typeof OpenAI.APIError>).error)).not.toContain('127.0.0.1');
    } finally {
      await serve.stop();
    }
    const lines = serve
      .stderr()
      .split('\n')
      .filter((text) => text.includes('request failed'))
      .map((text) => JSON.parse(text) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    // Default connectRetries is 2: three attempts in all, the last one's errno reported.
    expect(lines[0]).toMatchObject({ upstreamHost: new URL(refused).host, errno: 'ECONNREFUSED', attempts: 3, errorCode: 'KW_UPSTREAM_UNAVAILABLE' });
    expect(serve.stderr()).not.toContain(upstreamKey);
    expect(serve.stderr()).not.toContain(adminToken);
  });
});
