import { randomBytes } from 'node:crypto';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { OutboundLookup } from '../../src/policy/outbound-connect.js';
import type { UsageRecord } from '../../src/store/index.js';
import { BillingLedger } from '../support/fake-openai-billing.js';
import { closedPortUrl, startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { cli } from '../cli/run-cli.js';

// Ordered fallbacks: a key names a primary upstream and fallbacks; connect errors, 5xx and 429 go to the next one,
// nothing else does, and every attempt is metered once.

const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'hello there' }] };
const BLOCKED_HOST = 'meta.fallback.example';

let h: Harness;
let b: FakeOpenAI;
let c: FakeOpenAI;
const ledgerA = new BillingLedger();
const ledgerB = new BillingLedger();
const ledgerC = new BillingLedger();
const keyB = `sk-b-${randomBytes(24).toString('base64url')}`;
const keyC = `sk-c-${randomBytes(24).toString('base64url')}`;
const ids = { a: '', b: '', c: '', dead: '', blocked: '', azure: '' };
const asked: string[] = [];

/** Names resolve only for the blocked host, to the cloud metadata address the outbound policy always refuses. */
const lookup: OutboundLookup = (hostname, _options, callback) => {
  asked.push(hostname);
  if (hostname === BLOCKED_HOST) return callback(null, [{ address: '169.254.169.254', family: 4 }]);
  callback(Object.assign(new Error(`ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
};

async function addUpstream(name: string, baseUrl: string, key: string): Promise<string> {
  const res = await h.admin<{ id: string }>('POST', '/upstreams', { name, provider: 'openai-compatible', base_url: baseUrl, keys: [key] });
  if (res.status !== 201) throw new Error(`could not add ${name}: ${JSON.stringify(res.body)}`);
  return res.body.id;
}

/**
 * The key's usage records in the order its upstreams were tried. Attempts of one request carry (about) its arrival
 * time and ids within a millisecond are not ordered, so the order is the chain's: each upstream is tried at most once.
 */
async function recordsOf(keyId: string, chain: readonly string[] = []): Promise<UsageRecord[]> {
  await h.server.gateway.usage.flush();
  const data = (await h.admin<{ data: UsageRecord[] }>('GET', `/usage/records?key_id=${keyId}&limit=100`)).body.data;
  const position = (r: UsageRecord): number => chain.indexOf(r.upstreamId ?? '');
  return data.sort((x, y) => position(x) - position(y) || x.ts - y.ts);
}

async function sdkError(promise: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof OpenAI.APIError) return err;
    throw err;
  }
  throw new Error('expected the request to fail');
}

/** A fresh key per test, so usage records and budgets are the test's own. */
async function keyWith(upstream: string, fallbacks: string[], limits: Record<string, unknown> = {}): Promise<{ id: string; client: OpenAI }> {
  const created = await h.createKey({ upstream, fallbacks, limits });
  return { id: created.id, client: h.client(created.key) };
}

beforeAll(async () => {
  h = await startHarness({
    fake: { billing: ledgerA },
    outboundLookup: lookup,
    config: { upstream: { headersTimeoutMs: 1000, connectRetries: 1 } },
  });
  b = await startFakeOpenAI({ apiKeys: [keyB], billing: ledgerB });
  c = await startFakeOpenAI({ apiKeys: [keyC], billing: ledgerC });
  ids.a = (await h.admin<{ data: Array<{ id: string; name: string }> }>('GET', '/upstreams')).body.data.find((u) => u.name === 'fake')?.id ?? '';
  ids.b = await addUpstream('b', b.url, keyB);
  ids.c = await addUpstream('c', c.url, keyC);
  ids.dead = await addUpstream('dead', await closedPortUrl(), `sk-dead-${randomBytes(12).toString('hex')}`);
  const azure = await h.admin<{ id: string }>('POST', '/upstreams', {
    name: 'azure',
    provider: 'azure',
    base_url: b.origin,
    api_version: '2024-10-21',
    deployments: { 'gpt-4o-mini': 'mini-deployment' },
    keys: [keyB],
  });
  ids.azure = azure.body.id;
  ids.blocked = await addUpstream('blocked', `https://${BLOCKED_HOST}/v1`, `sk-blocked-${randomBytes(12).toString('hex')}`);
});
afterEach(() => {
  for (const fake of [h.fake, b, c]) fake.reset();
  for (const ledger of [ledgerA, ledgerB, ledgerC]) ledger.entries.length = 0;
});
afterAll(async () => {
  await h.close();
  await b.close();
  await c.close();
});

describe('failing over', () => {
  it('a 500 from the primary goes to the first fallback; two usage records, the failed one at cost 0', async () => {
    const { id, client } = await keyWith('fake', ['b', 'c']);
    h.fake.queueBehavior({ type: 'error', status: 500 });
    const { data: completion, response } = await client.chat.completions.create(chat).withResponse();
    expect(completion.choices[0]?.message.content).toBeTruthy();
    expect(h.fake.requests).toHaveLength(1);
    expect(b.requests).toHaveLength(1);
    expect(b.lastRequest()?.headers.authorization).toBe(`Bearer ${keyB}`);
    expect(b.lastRequest()?.json).toMatchObject({ model: chat.model, messages: chat.messages });
    expect(c.requests).toHaveLength(0);
    const records = await recordsOf(id, [ids.a, ids.b]);
    expect(records.map((r) => [r.upstreamId, r.status, r.errorCode])).toEqual([
      [ids.a, 500, 'upstream_failed_over'],
      [ids.b, 200, null],
    ]);
    expect(records[0]?.costUsd).toBe(0);
    expect(records[1]?.completionTokens).toBe(completion.usage?.completion_tokens);
    expect(new Set(records.map((r) => r.id)).size).toBe(2);
    // The id the client is told names the attempt that answered.
    expect(response.headers.get('x-keywarden-request-id')).toBe(records[1]?.id);
  });

  it('a 429 then a 503 walk the whole chain in order; spend equals what the providers billed', async () => {
    const { id, client } = await keyWith('fake', ['b', 'c'], { budgets: [{ usd: 5, period: 'day' }] });
    h.fake.queueBehavior({ type: 'error', status: 429, headers: { 'retry-after': '20' } });
    b.queueBehavior({ type: 'error', status: 503 });
    const completion = await client.chat.completions.create(chat);
    expect(completion.choices[0]?.message.content).toBeTruthy();
    expect([h.fake.requests.length, b.requests.length, c.requests.length]).toEqual([1, 1, 1]);
    expect(c.lastRequest()?.headers.authorization).toBe(`Bearer ${keyC}`);
    const records = await recordsOf(id, [ids.a, ids.b, ids.c]);
    expect(records.map((r) => [r.upstreamId, r.status])).toEqual([
      [ids.a, 429],
      [ids.b, 503],
      [ids.c, 200],
    ]);
    const billed = ledgerA.totalUsd() + ledgerB.totalUsd() + ledgerC.totalUsd();
    expect(ledgerA.totalUsd() + ledgerB.totalUsd()).toBe(0);
    expect(billed).toBeGreaterThan(0);
    const key = await h.admin<{ budgets: Array<{ spent_usd: number }> }>('GET', `/keys/${id}`);
    expect(key.body.budgets[0]?.spent_usd).toBeCloseTo(billed, 9);
    expect(records.reduce((sum, r) => sum + (r.costUsd ?? 0), 0)).toBeCloseTo(billed, 9);
  });

  it('connection refused (after its own connect retry) goes to the fallback', async () => {
    const { id, client } = await keyWith('dead', ['b']);
    const completion = await client.chat.completions.create(chat);
    expect(completion.choices[0]?.message.content).toBeTruthy();
    expect(b.requests).toHaveLength(1);
    const records = await recordsOf(id, [ids.dead, ids.b]);
    expect(records.map((r) => [r.upstreamId, r.status, r.errorCode])).toEqual([
      [ids.dead, 502, 'upstream_unavailable'],
      [ids.b, 200, null],
    ]);
  });

  it('an upstream the outbound policy refuses at connect time is skipped, never contacted, and the next answers', async () => {
    const { id, client } = await keyWith('blocked', ['b']);
    const completion = await client.chat.completions.create(chat);
    expect(completion.choices[0]?.message.content).toBeTruthy();
    expect(asked).toContain(BLOCKED_HOST);
    const records = await recordsOf(id, [ids.blocked, ids.b]);
    expect(records.map((r) => [r.upstreamId, r.status])).toEqual([
      [ids.blocked, 502],
      [ids.b, 200],
    ]);
  });

  it('streams: a 500 before the stream starts fails over and the client gets one whole stream', async () => {
    const { id, client } = await keyWith('fake', ['b']);
    h.fake.queueBehavior({ type: 'error', status: 500 });
    const stream = await client.chat.completions.create({ ...chat, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text.length).toBeGreaterThan(0);
    expect(b.requests).toHaveLength(1);
    const records = await recordsOf(id, [ids.a, ids.b]);
    expect(records.map((r) => [r.upstreamId, r.status, r.stream])).toEqual([
      [ids.a, 500, true],
      [ids.b, 200, true],
    ]);
    expect(records[1]?.completionTokens).toBeGreaterThan(0);
  });

  it('when every upstream fails, the client gets the last one\'s error (OpenAI-shaped), one record per attempt', async () => {
    const { id, client } = await keyWith('fake', ['b', 'c']);
    h.fake.queueBehavior({ type: 'error', status: 500 });
    b.queueBehavior({ type: 'error', status: 502 });
    c.queueBehavior({ type: 'error', status: 503 });
    const err = await sdkError(client.chat.completions.create(chat));
    expect(err.status).toBe(503);
    expect(typeof (err.error as { message?: unknown }).message).toBe('string');
    expect((await recordsOf(id, [ids.a, ids.b, ids.c])).map((r) => r.status)).toEqual([500, 502, 503]);
  });
});

describe('per-upstream mapping on each attempt', () => {
  it('Azure primary (deployment in the body) failing over to an OpenAI-compatible one: each gets its own model, path and auth', async () => {
    const { client } = await keyWith('azure', ['b']);
    b.queueBehavior({ type: 'error', status: 500 }); // the Azure attempt (served by the same fake)
    const response = await client.responses.create({ model: 'gpt-4o-mini', input: 'hello there', store: false });
    expect(response.output_text).toBeTruthy();
    const [onAzure, onB] = b.requests;
    expect(onAzure?.path).toMatch(/^\/openai\/responses/);
    expect(onAzure?.headers['api-key']).toBe(keyB);
    expect((onAzure?.json as { model?: string }).model).toBe('mini-deployment');
    // The Azure deployment name must not leak into the next attempt's body.
    expect(onB?.path).toBe('/v1/responses');
    expect(onB?.headers.authorization).toBe(`Bearer ${keyB}`);
    expect(onB?.headers['api-key']).toBeUndefined();
    expect((onB?.json as { model?: string }).model).toBe('gpt-4o-mini');
  });

  it('OpenAI-compatible primary failing over to Azure: the fallback is addressed by deployment with api-key', async () => {
    const { client } = await keyWith('fake', ['azure']);
    h.fake.queueBehavior({ type: 'error', status: 502 });
    const completion = await client.chat.completions.create(chat);
    expect(completion.choices[0]?.message.content).toBeTruthy();
    const onAzure = b.lastRequest();
    expect(onAzure?.deployment).toBe('mini-deployment');
    expect(onAzure?.query.get('api-version')).toBe('2024-10-21');
    expect(onAzure?.headers['api-key']).toBe(keyB);
    expect(onAzure?.headers.authorization).toBeUndefined();
  });
});

describe('never failing over', () => {
  it('a 400 from the primary is the client\'s problem: relayed, not retried', async () => {
    const { id, client } = await keyWith('fake', ['b']);
    h.fake.queueBehavior({ type: 'error', status: 400, message: 'bad thing', param: 'messages' });
    const err = await sdkError(client.chat.completions.create(chat));
    expect(err.status).toBe(400);
    expect(err.param).toBe('messages');
    expect(b.requests).toHaveLength(0);
    expect(await recordsOf(id)).toHaveLength(1);
  });

  it('a primary that hangs until the headers timeout is not retried: the request may be running (and billed) there', async () => {
    const { id, client } = await keyWith('fake', ['b']);
    h.fake.queueBehavior({ type: 'hang' });
    const err = await sdkError(client.chat.completions.create(chat));
    expect(err.status).toBe(504);
    expect(err.code).toBe('upstream_timeout');
    expect(b.requests).toHaveLength(0);
    expect((await recordsOf(id)).map((r) => r.status)).toEqual([504]);
  });

  it('a 2xx stream cut mid-way is never retried: bytes already reached the client', async () => {
    const { id, client } = await keyWith('fake', ['b']);
    h.fake.queueBehavior({ type: 'ok', cutAfterChunks: 2 });
    const stream = await client.chat.completions.create({ ...chat, stream: true });
    let chunks = 0;
    await expect(
      (async () => {
        for await (const chunk of stream) if (chunk.choices.length > 0) chunks++;
      })(),
    ).rejects.toThrow();
    expect(chunks).toBeGreaterThan(0);
    // Give a wrongly retrying gateway the time to do it.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(b.requests).toHaveLength(0);
    const records = await recordsOf(id);
    expect(records).toHaveLength(1);
    expect(records[0]?.upstreamId).toBe(ids.a);
  });

  it('a key without fallbacks relays the primary\'s 500 as before', async () => {
    const { client } = await keyWith('fake', []);
    h.fake.queueBehavior({ type: 'error', status: 500 });
    expect((await sdkError(client.chat.completions.create(chat))).status).toBe(500);
    expect(b.requests).toHaveLength(0);
  });

  it('requests on stored objects stay on the primary (the object lives there)', async () => {
    const { client } = await keyWith('fake', ['b']);
    h.fake.queueBehavior({ type: 'error', status: 500 });
    const err = await sdkError(client.chat.completions.retrieve('chatcmpl-not-mine'));
    expect(err.status).toBeGreaterThanOrEqual(400);
    expect(b.requests).toHaveLength(0);
  });
});

describe('fallbacks on the admin API', () => {
  it('are shown, validated (unknown, duplicate by id or name, the primary, more than 5) and replaced as a whole', async () => {
    const created = await h.admin<{ id: string; fallback_upstream_ids: string[] }>('POST', '/keys', { name: 'fb', upstream: 'fake', fallbacks: ['c', ids.b] });
    expect(created.status).toBe(201);
    expect(created.body.fallback_upstream_ids).toEqual([ids.c, ids.b]);
    const bad = async (body: Record<string, unknown>): Promise<void> => {
      const res = await h.admin<{ error: { code: string; param: string } }>('PATCH', `/keys/${created.body.id}`, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.param).toBe('fallbacks');
    };
    await bad({ fallbacks: ['nope'] });
    await bad({ fallbacks: ['b', ids.b] });
    await bad({ fallbacks: ['fake'] });
    await bad({ fallbacks: ['b', 'c', 'dead', 'blocked', 'b', 'c'] });
    await bad({ upstream: 'c' }); // c is a fallback: it cannot become the primary without changing the fallbacks
    const moved = await h.admin<{ upstream_id: string; fallback_upstream_ids: string[] }>('PATCH', `/keys/${created.body.id}`, { upstream: 'c', fallbacks: ['fake'] });
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ upstream_id: ids.c, fallback_upstream_ids: [ids.a] });
    const cleared = await h.admin<{ fallback_upstream_ids: string[] }>('PATCH', `/keys/${created.body.id}`, { fallbacks: [] });
    expect(cleared.body.fallback_upstream_ids).toEqual([]);
    await h.admin('POST', `/keys/${created.body.id}/revoke`);
  });

  it('an upstream listed as a fallback counts as bound: remove is refused, reassign_to moves the fallback', async () => {
    const spare = await startFakeOpenAI({ apiKeys: ['sk-spare-0123456789'] });
    try {
      const spareId = await addUpstream('spare', spare.url, 'sk-spare-0123456789');
      const key = await h.admin<{ id: string }>('POST', '/keys', { name: 'fb-bound', upstream: 'b', fallbacks: ['spare', 'c'] });
      const refused = await h.admin<{ error: { code: string; message: string } }>('DELETE', '/upstreams/spare');
      expect(refused.status).toBe(409);
      expect(refused.body.error.message).toContain(key.body.id);
      const removed = await h.admin<{ reassigned: { moved_key_ids: string[] } }>('DELETE', '/upstreams/spare?reassign_to=dead');
      expect(removed.status).toBe(200);
      expect(removed.body.reassigned.moved_key_ids).toContain(key.body.id);
      const after = await h.admin<{ upstream_id: string; fallback_upstream_ids: string[] }>('GET', `/keys/${key.body.id}`);
      expect(after.body).toMatchObject({ upstream_id: ids.b, fallback_upstream_ids: [ids.dead, ids.c] });
      expect(after.body.fallback_upstream_ids).not.toContain(spareId);
    } finally {
      await spare.close();
    }
  });

  it('keys create|update --fallback (repeatable, by name; \'\' clears) from the CLI', async () => {
    const env = { KEYWARDEN_URL: h.server.url, KEYWARDEN_ADMIN_TOKEN: h.adminToken };
    const created = await cli(['keys', 'create', '--name', 'fb-cli', '--upstream', 'fake', '--fallback', 'b', '--fallback', 'c', '--json'], env);
    expect(created.status, created.stderr).toBe(0);
    const key = JSON.parse(created.stdout) as { id: string; fallback_upstream_ids: string[] };
    expect(key.fallback_upstream_ids).toEqual([ids.b, ids.c]);
    const dup = await cli(['keys', 'update', key.id, '--fallback', 'b', '--fallback', 'b'], env);
    expect(dup.status).not.toBe(0);
    expect(dup.stderr).toContain('twice');
    const cleared = await cli(['keys', 'update', key.id, '--fallback', '', '--json'], env);
    expect(cleared.status, cleared.stderr).toBe(0);
    expect((JSON.parse(cleared.stdout) as { fallback_upstream_ids: string[] }).fallback_upstream_ids).toEqual([]);
  });
});
