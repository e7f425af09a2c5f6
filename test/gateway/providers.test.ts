import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { firstMessage } from '../support/ws-answer.js';

let h: Harness;
const azureKey = randomBytes(16).toString('hex');
const secondKey = `sk-proj-${randomBytes(30).toString('base64url')}`;

beforeAll(async () => {
  h = await startHarness({ withUpstream: false });
  h.fake.configure({ apiKeys: [h.upstreamKey, secondKey, azureKey] });
});
afterAll(() => h.close());

describe('upstream providers', () => {
  it('spreads requests across an upstream’s keys', async () => {
    const added = await h.admin('POST', '/upstreams', { name: 'multi', provider: 'openai', base_url: h.fake.url, keys: [h.upstreamKey, secondKey] });
    expect(added.status).toBe(201);
    const { key } = await h.createKey({ upstream: 'multi' });
    const client = h.client(key);
    const before = h.fake.requests.length;
    for (let i = 0; i < 6; i++) await client.embeddings.create({ model: 'text-embedding-3-small', input: 'x' });
    const used = h.fake.requests.slice(before).map((r) => r.presentedKey);
    expect(used.filter((k) => k === h.upstreamKey)).toHaveLength(3);
    expect(used.filter((k) => k === secondKey)).toHaveLength(3);
  });

  it('routes Azure OpenAI by deployment with api-version and the api-key header', async () => {
    const added = await h.admin('POST', '/upstreams', {
      name: 'azure',
      provider: 'azure',
      base_url: h.fake.origin,
      api_version: '2024-10-21',
      deployments: { 'gpt-4o-mini': 'prod-mini' },
      keys: [azureKey],
    });
    expect(added.status).toBe(201);
    const { key } = await h.createKey({ upstream: 'azure', models: ['gpt-4o-mini', 'text-embedding-3-small'] });
    const client = h.client(key);
    const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    expect(completion.choices.length).toBe(1);
    const seen = h.fake.lastRequest();
    expect(seen?.deployment).toBe('prod-mini');
    expect(seen?.query.get('api-version')).toBe('2024-10-21');
    expect(seen?.headers['api-key']).toBe(azureKey);
    expect(seen?.headers.authorization).toBeUndefined();

    // Unmapped models use their own name as the deployment, Azure's usual convention.
    await client.embeddings.create({ model: 'text-embedding-3-small', input: 'x' });
    expect(h.fake.lastRequest()?.deployment).toBe('text-embedding-3-small');

    const models: string[] = [];
    for await (const model of await client.models.list()) models.push(model.id);
    expect(models).toEqual(['gpt-4o-mini']);
  });

  it('opens an Azure Realtime session by deployment, with api-version and the api-key header', async () => {
    const { key } = await h.createKey({ upstream: 'azure', endpoints: ['realtime'], models: ['gpt-realtime'] });
    await h.admin('PATCH', '/upstreams/azure', { deployments: { 'gpt-4o-mini': 'prod-mini', 'gpt-realtime': 'prod-voice' } });
    const ws = new WebSocket(`${h.server.url.replace('http', 'ws')}/v1/realtime?model=gpt-realtime`, { headers: { authorization: `Bearer ${key}` } });
    expect(JSON.parse(await firstMessage(ws))).toMatchObject({ type: 'session.created' });
    const session = h.fake.realtime.last();
    expect(session?.model).toBe('prod-voice');
    expect(session?.query.get('api-version')).toBe('2024-10-21');
    expect(session?.query.get('model')).toBeNull();
    expect(session?.presentedKey).toBe(azureKey);
    expect(session?.headers.authorization).toBeUndefined();
    ws.close();
  });

  it('refuses incomplete provider definitions with clear errors', async () => {
    const azure = await h.admin<{ error: { message: string } }>('POST', '/upstreams', { name: 'az2', provider: 'azure', base_url: h.fake.origin, keys: [azureKey] });
    expect(azure.status).toBe(400);
    expect(azure.body.error.message).toContain('api_version');
    const compatible = await h.admin<{ error: { message: string } }>('POST', '/upstreams', { name: 'c', provider: 'openai-compatible', keys: ['sk-123456789'] });
    expect(compatible.status).toBe(400);
    expect(compatible.body.error.message).toContain('base_url');
    const duplicate = await h.admin('POST', '/upstreams', { name: 'multi', provider: 'openai', keys: ['sk-123456789'] });
    expect(duplicate.status).toBe(409);
  });

  it('answers 503 no_upstream when several upstreams exist and none is the default', async () => {
    // Through the admin API the first upstream becomes the default and stays so when more are added (issue 9)...
    const listed = await h.admin<{ data: Array<{ name: string; default: boolean }> }>('GET', '/upstreams');
    expect(listed.body.data.filter((u) => u.default).map((u) => u.name)).toEqual(['multi']);
    // ...so a store with several upstreams and no default (data written before that rule) is what is left to refuse.
    const store = h.server.services.store;
    for (const upstream of await store.upstreams.list()) await store.upstreams.update(upstream.id, { isDefault: false });
    await h.server.gateway.upstreams.invalidate();
    const { key } = await h.createKey();
    const res = await fetch(`${h.server.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('no_upstream');
  });
});
