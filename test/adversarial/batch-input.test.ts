// The Batch API as a confused deputy: each line of a batch's input file runs upstream with the vaulted key, so a key
// could smuggle in a model, an endpoint or another key's objects that it may not use directly. The gateway reads the
// input file back and holds every line to the key's own rules; a refused batch never reaches the upstream.
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { apiErrorOf } from '../support/api-error.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';

let h: Harness;
/** A: batches and chat only, one model. B: everything, any model. */
let a: OpenAI;
let b: OpenAI;
const MODEL = 'gpt-4o-mini';

beforeAll(async () => {
  h = await startHarness();
  a = h.client((await h.createKey({ name: 'narrow', endpoints: ['chat', 'responses', 'files', 'batches'], models: [MODEL] })).key);
  b = h.client((await h.createKey({ name: 'other', endpoints: ['*'] })).key);
});
afterAll(() => h.close());
beforeEach(() => h.fake.reset());

type Line = { method?: string; url: string; body: Record<string, unknown> };
const chat = (model = MODEL, extra: Record<string, unknown> = {}): Line => ({ url: '/v1/chat/completions', body: { model, messages: [{ role: 'user', content: 'hi' }], ...extra } });

async function batchOf(client: OpenAI, lines: readonly Line[], separator = '\n'): Promise<string> {
  const text = lines.map((line, i) => JSON.stringify({ custom_id: `r${i}`, method: line.method ?? 'POST', url: line.url, body: line.body })).join(separator);
  return (await client.files.create({ file: await OpenAI.toFile(Buffer.from(text), 'batch.jsonl'), purpose: 'batch' })).id;
}

const create = (client: OpenAI, inputFileId: string, endpoint: '/v1/chat/completions' | '/v1/responses' = '/v1/chat/completions') =>
  client.batches.create({ input_file_id: inputFileId, endpoint, completion_window: '24h' });

/** Upstream calls that create a batch (the independent judge: what the provider was asked to run). */
const batchesCreatedUpstream = () => h.fake.requests.filter((r) => r.method === 'POST' && r.route === '/batches').length;

async function expectRefused(call: Promise<unknown>, status: number, code: string, line: number): Promise<string> {
  const err = await apiErrorOf(call);
  expect(err.status).toBe(status);
  expect(err.code).toBe(code);
  const message = String((err.error as { message?: unknown }).message);
  expect(message).toMatch(new RegExp(`^Line ${line} of the batch input file`));
  expect(batchesCreatedUpstream()).toBe(0);
  return message;
}

describe('batch input files', () => {
  it('creates a batch whose lines keep to the key\'s scopes and objects, after reading the file back', async () => {
    const own = await a.files.create({ file: await OpenAI.toFile(Buffer.from('doc'), 'doc.pdf'), purpose: 'user_data' });
    const input = await batchOf(a, [chat(), chat(MODEL, { temperature: 0 }), { url: '/v1/responses', body: { model: MODEL, input: [{ role: 'user', content: [{ type: 'input_file', file_id: own.id }] }] } }], '\r\n');
    const batch = await create(a, input);
    expect(batch.id).toMatch(/^batch_/);
    expect(batchesCreatedUpstream()).toBe(1);
    expect(h.fake.requests.some((r) => r.method === 'GET' && r.route === `/files/${input}/content`)).toBe(true);
  });

  it('refuses a line that names a model the key may not use (403), wherever it sits in the file', async () => {
    const message = await expectRefused(create(a, await batchOf(a, [chat(), chat(), chat('gpt-4o')])), 403, 'model_not_allowed', 3);
    expect(message).toContain('gpt-4o');
    // A line without a model, on a key restricted to models.
    const { model: _dropped, ...withoutModel } = chat().body;
    await expectRefused(create(a, await batchOf(a, [{ url: '/v1/chat/completions', body: withoutModel }])), 400, 'model_required', 1);
    // A video line without a model would be made by the provider's default video model.
    const wide = h.client((await h.createKey({ name: 'wide', endpoints: ['*'], models: [MODEL] })).key);
    await expectRefused(create(wide, await batchOf(wide, [chat(), { url: '/v1/videos', body: { prompt: 'a red balloon' } }])), 400, 'model_required', 2);
  });

  it("refuses a line that names a model outside the key's project, though the key itself allows it", async () => {
    const project = await h.admin<{ id: string }>('POST', '/projects', { name: 'batch-team', models: [MODEL] });
    expect(project.status).toBe(201);
    const member = h.client((await h.createKey({ name: 'member', project: project.body.id, endpoints: ['*'], models: ['*'] })).key);
    const message = await expectRefused(create(member, await batchOf(member, [chat(), chat('gpt-4o')])), 403, 'model_not_allowed', 2);
    expect(message).toContain('batch-team');
    await create(member, await batchOf(member, [chat()]));
    expect(batchesCreatedUpstream()).toBe(1);
  });

  it('refuses a line on an endpoint group the key was not granted (403), however its url is spelled', async () => {
    await expectRefused(create(a, await batchOf(a, [chat(), { url: '/v1/embeddings', body: { model: MODEL, input: 'x' } }])), 403, 'endpoint_not_allowed', 2);
    await expectRefused(create(a, await batchOf(a, [{ url: '/v1/chat/../embeddings', body: { model: MODEL, input: 'x' } }])), 403, 'endpoint_not_allowed', 1);
  });

  it("refuses a line that names another key's objects (404, the same as for objects that do not exist)", async () => {
    const theirs = await b.files.create({ file: await OpenAI.toFile(Buffer.from('secret'), 'secret.pdf'), purpose: 'user_data' });
    const response = await b.responses.create({ model: MODEL, input: 'remember 42' });
    const store = await b.vectorStores.create({ name: 'kb' });
    const cases: Line[] = [
      { url: '/v1/responses', body: { model: MODEL, input: [{ role: 'user', content: [{ type: 'input_file', file_id: theirs.id }] }] } },
      { url: '/v1/responses', body: { model: MODEL, previous_response_id: response.id, input: 'what did I say?' } },
      { url: '/v1/responses', body: { model: MODEL, input: 'search', tools: [{ type: 'file_search', vector_store_ids: [store.id] }] } },
    ];
    for (const line of cases) {
      const foreign = await expectRefused(create(a, await batchOf(a, [chat(), line]), '/v1/responses'), 404, 'not_found', 2);
      expect(foreign).toContain('No such object');
    }
    // B's own objects in B's own batch are fine: the rule is ownership, not a ban.
    await create(b, await batchOf(b, cases));
    expect(batchesCreatedUpstream()).toBe(1);
  });

  it('refuses malformed lines (400), and streams a large file to its last line', async () => {
    await expectRefused(create(a, await batchOf(a, [chat(), { method: 'GET', url: '/v1/files', body: {} }])), 400, 'invalid_request', 2);
    const text = `${JSON.stringify({ custom_id: 'x', method: 'POST', url: '/v1/chat/completions', body: chat().body })}\nnot json\n`;
    const broken = await a.files.create({ file: await OpenAI.toFile(Buffer.from(text), 'b.jsonl'), purpose: 'batch' });
    await expectRefused(create(a, broken.id), 400, 'invalid_request', 2);
    // 3,000 good lines (about 400 KB, many upstream chunks) and one bad one at the very end.
    const many = await batchOf(a, [...Array.from({ length: 3_000 }, (_, i) => chat(MODEL, { user: `u${i}` })), chat('o3')]);
    await expectRefused(create(a, many), 403, 'model_not_allowed', 3_001);
  });

  it('refuses an input_file_id that is not a file id, and a batch body that is not JSON', async () => {
    const input = await batchOf(a, [chat('o3')]);
    for (const body of [{ input_file_id: { id: input } }, { input_file_id: [input] }, {}]) {
      const res = await fetch(`${h.server.url}/v1/batches`, {
        method: 'POST',
        headers: { authorization: `Bearer ${a.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ endpoint: '/v1/chat/completions', completion_window: '24h', ...body }),
      });
      expect(res.status, JSON.stringify(body)).toBeGreaterThanOrEqual(400);
      expect(res.status, JSON.stringify(body)).toBeLessThan(500);
    }
    const form = await fetch(`${h.server.url}/v1/batches`, { method: 'POST', headers: { authorization: `Bearer ${a.apiKey}`, 'content-type': 'text/plain' }, body: `input_file_id=${input}` });
    expect(form.status).toBe(400);
    expect(batchesCreatedUpstream()).toBe(0);
  });

  it('refuses the batch when the input file cannot be read back, without relaying the upstream\'s words', async () => {
    const input = await batchOf(a, [chat()]);
    h.fake.queueBehavior({ type: 'error', status: 500, message: 'internal detail {key}' });
    const err = await apiErrorOf(create(a, input));
    expect(err.status).toBe(502);
    expect(err.message).not.toContain('internal detail');
    expect(err.message).not.toContain(h.upstreamKey);
    expect(batchesCreatedUpstream()).toBe(0);
    h.fake.queueBehavior({ type: 'drop' });
    expect((await apiErrorOf(create(a, input))).status).toBe(502);
    expect(batchesCreatedUpstream()).toBe(0);
  });
});
