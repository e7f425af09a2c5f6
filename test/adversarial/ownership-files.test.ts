// Object ownership for files, batches, vector stores, uploads, fine-tuning jobs and fine-tuned models, and for ids
// named inside request bodies (file_id, input_file_id, training_file, vector_store_ids, file_ids).
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiErrorOf } from '../support/api-error.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { collectIds, expectGatewayNotFound, twoKeys, type TwoKeys } from './ownership-helpers.js';

let h: Harness;
let k: TwoKeys;
const MODEL = 'gpt-4o-mini';
const jsonl = (name: string) => OpenAI.toFile(Buffer.from('{"custom_id":"1"}\n'), name);

beforeAll(async () => {
  h = await startHarness();
  k = await twoKeys(h);
});
afterAll(() => h.close());

describe('files', () => {
  it('B cannot retrieve, download or delete A\'s file, and lists show each key its own', async () => {
    const mine = await k.a.files.create({ file: await jsonl('a.jsonl'), purpose: 'batch' });
    const theirs = await k.b.files.create({ file: await jsonl('b.jsonl'), purpose: 'batch' });
    await expectGatewayNotFound(h, () => k.b.files.retrieve(mine.id));
    await expectGatewayNotFound(h, () => k.b.files.content(mine.id));
    await expectGatewayNotFound(h, () => k.b.files.delete(mine.id));
    const listB = await collectIds(k.b.files.list());
    expect(listB).toContain(theirs.id);
    expect(listB).not.toContain(mine.id);
    expect(await collectIds(k.a.files.list())).toContain(mine.id);
    expect(await (await k.a.files.content(mine.id)).text()).toBe('{"custom_id":"1"}\n');
    expect((await k.a.files.retrieve(mine.id)).id).toBe(mine.id);
  });

  it('file_id references in chat and Responses inputs are checked', async () => {
    const mine = await k.a.files.create({ file: await jsonl('doc.pdf'), purpose: 'user_data' });
    await expectGatewayNotFound(h, () =>
      k.b.chat.completions.create({
        model: MODEL,
        messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: mine.id } }, { type: 'text', text: 'summarize' }] }],
      }),
    );
    await expectGatewayNotFound(h, () =>
      k.b.responses.create({ model: MODEL, input: [{ role: 'user', content: [{ type: 'input_file', file_id: mine.id }] }] }),
    );
    // Hosted tools naming someone else's vector store or files.
    const store = await k.a.vectorStores.create({ name: 'a-store' });
    await expectGatewayNotFound(h, () =>
      k.b.responses.create({ model: MODEL, input: 'search', tools: [{ type: 'file_search', vector_store_ids: [store.id] }] }),
    );
    const ok = await k.a.responses.create({ model: MODEL, input: [{ role: 'user', content: [{ type: 'input_file', file_id: mine.id }] }] });
    expect(ok.id).toMatch(/^resp_/);
  });
});

describe('batches', () => {
  it('B cannot create a batch from A\'s file, nor read, cancel or list A\'s batch; output files follow the batch owner', async () => {
    const line = { custom_id: '1', method: 'POST', url: '/v1/chat/completions', body: { model: MODEL, messages: [{ role: 'user', content: 'hi' }] } };
    const input = await k.a.files.create({ file: await OpenAI.toFile(Buffer.from(`${JSON.stringify(line)}\n`), 'in.jsonl'), purpose: 'batch' });
    const create = { input_file_id: input.id, endpoint: '/v1/chat/completions' as const, completion_window: '24h' as const };
    await expectGatewayNotFound(h, () => k.b.batches.create(create));
    const batch = await k.a.batches.create(create);
    await expectGatewayNotFound(h, () => k.b.batches.retrieve(batch.id));
    await expectGatewayNotFound(h, () => k.b.batches.cancel(batch.id));
    expect(await collectIds(k.b.batches.list())).not.toContain(batch.id);
    expect(await collectIds(k.a.batches.list())).toContain(batch.id);
    const done = await k.a.batches.retrieve(batch.id);
    expect(done.status).toBe('completed');
    const output = done.output_file_id as string;
    expect(output).toMatch(/^file-/);
    // The output file was created upstream by the batch: it belongs to the batch's owner, not to everyone.
    expect((await k.a.files.retrieve(output)).id).toBe(output);
    await expectGatewayNotFound(h, () => k.b.files.content(output));
  });
});

describe('vector stores', () => {
  it('B cannot read, modify, delete, list, attach to or attach A\'s file to a vector store', async () => {
    const fileA = await k.a.files.create({ file: await jsonl('kb.jsonl'), purpose: 'assistants' });
    const fileB = await k.b.files.create({ file: await jsonl('kb.jsonl'), purpose: 'assistants' });
    const store = await k.a.vectorStores.create({ name: 'kb', file_ids: [fileA.id] });
    await expectGatewayNotFound(h, () => k.b.vectorStores.retrieve(store.id));
    await expectGatewayNotFound(h, () => k.b.vectorStores.update(store.id, { name: 'mine now' }));
    await expectGatewayNotFound(h, () => collectIds(k.b.vectorStores.files.list(store.id)));
    await expectGatewayNotFound(h, () => k.b.vectorStores.files.create(store.id, { file_id: fileB.id }));
    await expectGatewayNotFound(h, () => k.b.vectorStores.delete(store.id));
    // B's own store cannot take in A's file, at creation or later.
    await expectGatewayNotFound(h, () => k.b.vectorStores.create({ name: 'steal', file_ids: [fileA.id] }));
    const storeB = await k.b.vectorStores.create({ name: 'b' });
    await expectGatewayNotFound(h, () => k.b.vectorStores.files.create(storeB.id, { file_id: fileA.id }));
    expect(await collectIds(k.b.vectorStores.list())).toEqual([storeB.id]);
    expect(await collectIds(k.a.vectorStores.files.list(store.id))).toEqual([fileA.id]);
    expect((await k.a.vectorStores.update(store.id, { name: 'kb2' })).name).toBe('kb2');
    expect((await k.a.vectorStores.delete(store.id)).deleted).toBe(true);
  });
});

describe('uploads', () => {
  it('B cannot add parts to, complete or cancel A\'s upload; the completed file belongs to A', async () => {
    const upload = await k.a.uploads.create({ filename: 'big.jsonl', purpose: 'batch', bytes: 4, mime_type: 'text/jsonl' });
    const data = await OpenAI.toFile(Buffer.from('abcd'), 'part');
    await expectGatewayNotFound(h, () => k.b.uploads.parts.create(upload.id, { data }));
    await expectGatewayNotFound(h, () => k.b.uploads.complete(upload.id, { part_ids: [] }));
    await expectGatewayNotFound(h, () => k.b.uploads.cancel(upload.id));
    const part = await k.a.uploads.parts.create(upload.id, { data: await OpenAI.toFile(Buffer.from('abcd'), 'part') });
    const done = await k.a.uploads.complete(upload.id, { part_ids: [part.id] });
    const fileId = done.file?.id as string;
    expect(fileId).toMatch(/^file-/);
    expect((await k.a.files.retrieve(fileId)).id).toBe(fileId);
    await expectGatewayNotFound(h, () => k.b.files.retrieve(fileId));
  });
});

describe('fine-tuning jobs and fine-tuned models', () => {
  it('B cannot train on A\'s file, read, list, cancel or use A\'s job; the fine-tuned model is A\'s', async () => {
    const training = await k.a.files.create({ file: await jsonl('train.jsonl'), purpose: 'fine-tune' });
    await expectGatewayNotFound(h, () => k.b.fineTuning.jobs.create({ model: MODEL, training_file: training.id }));
    const job = await k.a.fineTuning.jobs.create({ model: MODEL, training_file: training.id });
    await expectGatewayNotFound(h, () => k.b.fineTuning.jobs.retrieve(job.id));
    await expectGatewayNotFound(h, () => k.b.fineTuning.jobs.cancel(job.id));
    await expectGatewayNotFound(h, () => collectIds(k.b.fineTuning.jobs.listEvents(job.id)));
    expect(await collectIds(k.b.fineTuning.jobs.list())).not.toContain(job.id);
    // Reading the job (the fake finishes it) names the model: from then on it is A's.
    const finished = await k.a.fineTuning.jobs.retrieve(job.id);
    const model = finished.fine_tuned_model as string;
    expect(model).toMatch(/^ft:/);
    expect((await k.a.models.retrieve(model)).id).toBe(model);
    await expectGatewayNotFound(h, () => k.b.models.retrieve(model));
    // Inference with A's fine-tuned model would use what it learned from A's data.
    await expectGatewayNotFound(h, () => k.b.chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }] }));
    expect((await k.a.chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }] })).choices).toHaveLength(1);
    const listB = await collectIds(k.b.models.list());
    expect(listB).toContain('gpt-4o-mini'); // base models stay public
    expect(listB).not.toContain(model);
    expect(await collectIds(k.a.models.list())).toContain(model);
    // Deleting needs the explicit grant, even for the owner; `*` is not that grant.
    const denied = await apiErrorOf(k.a.models.delete(model));
    expect(denied.status).toBe(403);
    expect(denied.code).toBe('endpoint_not_allowed');
    const deleter = await h.createKey({ name: 'b-deleter', endpoints: ['*', 'models:delete'] });
    await expectGatewayNotFound(h, () => h.client(deleter.key).models.delete(model)); // granted, not the owner
    await expectGatewayNotFound(h, () => h.client(deleter.key).models.delete('gpt-4o-mini')); // base models: no one's
    await h.admin('PATCH', `/keys/${k.aId}`, { endpoints: ['*', 'models:delete'] });
    expect((await k.a.models.delete(model)).deleted).toBe(true);
  });
});

describe('objects_from scope', () => {
  it('a key whose scope names A can read A\'s objects; the scope is validated', async () => {
    const file = await k.a.files.create({ file: await jsonl('shared.jsonl'), purpose: 'batch' });
    const reader = await h.createKey({ name: 'reader', endpoints: ['*'], objects_from: [k.aId] });
    const client = h.client(reader.key);
    expect((await client.files.retrieve(file.id)).id).toBe(file.id);
    expect(await collectIds(client.files.list())).toContain(file.id);
    const shown = await h.admin<{ objects_from: string[] }>('GET', `/keys/${reader.id}`);
    expect(shown.body.objects_from).toEqual([k.aId]);
    // B's objects stay out of reach for the reader.
    const fileB = await k.b.files.create({ file: await jsonl('b.jsonl'), purpose: 'batch' });
    await expectGatewayNotFound(h, () => client.files.retrieve(fileB.id));
    for (const bad of [['not-a-key'], ['key_doesnotexist123']]) {
      const res = await h.admin('POST', '/keys', { name: 'bad', objects_from: bad });
      expect(res.status).toBe(400);
    }
    const self = await h.admin('PATCH', `/keys/${reader.id}`, { objects_from: [reader.id] });
    expect(self.status).toBe(400);
  });
});

describe('assistants and threads', () => {
  it('B cannot read, change, delete or run A\'s assistant, nor read or extend A\'s thread', async () => {
    const assistant = await k.a.beta.assistants.create({ model: MODEL, name: 'a-bot' });
    const thread = await k.a.beta.threads.create();
    const threadB = await k.b.beta.threads.create();
    await expectGatewayNotFound(h, () => k.b.beta.assistants.retrieve(assistant.id));
    await expectGatewayNotFound(h, () => k.b.beta.assistants.update(assistant.id, { name: 'b-bot' }));
    await expectGatewayNotFound(h, () => k.b.beta.assistants.delete(assistant.id));
    expect(await collectIds(k.b.beta.assistants.list())).not.toContain(assistant.id);
    await expectGatewayNotFound(h, () => k.b.beta.threads.retrieve(thread.id));
    await expectGatewayNotFound(h, () => k.b.beta.threads.messages.create(thread.id, { role: 'user', content: 'hi' }));
    await expectGatewayNotFound(h, () => collectIds(k.b.beta.threads.messages.list(thread.id)));
    await expectGatewayNotFound(h, () => k.b.beta.threads.runs.create(threadB.id, { assistant_id: assistant.id }));
    await expectGatewayNotFound(h, () => k.b.beta.threads.createAndRun({ assistant_id: assistant.id }));
    // A: all of it, including the thread that createAndRun made, which is A's from its run's thread_id.
    expect((await k.a.beta.threads.messages.create(thread.id, { role: 'user', content: 'hi' })).thread_id).toBe(thread.id);
    expect((await k.a.beta.threads.runs.create(thread.id, { assistant_id: assistant.id })).assistant_id).toBe(assistant.id);
    const run = await k.a.beta.threads.createAndRun({ assistant_id: assistant.id });
    expect((await k.a.beta.threads.retrieve(run.thread_id)).id).toBe(run.thread_id);
    await expectGatewayNotFound(h, () => k.b.beta.threads.retrieve(run.thread_id));
    expect(await collectIds(k.a.beta.assistants.list())).toContain(assistant.id);
    expect((await k.a.beta.assistants.delete(assistant.id)).deleted).toBe(true);
  });
});
