// Object ownership for stored chat completions, responses (JSON and streamed) and conversations: two virtual keys
// on ONE upstream (one vaulted key, one shared store), and key B must not reach anything key A created.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiErrorOf } from '../support/api-error.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { collectIds, expectGatewayNotFound, twoKeys, type TwoKeys } from './ownership-helpers.js';

let h: Harness;
let k: TwoKeys;
const MODEL = 'gpt-4o-mini';
const say = (content: string) => [{ role: 'user' as const, content }];

beforeAll(async () => {
  h = await startHarness();
  k = await twoKeys(h);
});
afterAll(() => h.close());

describe('stored chat completions', () => {
  it('only the creating key can retrieve, update, read messages of, list and delete a stored completion', async () => {
    const mine = await k.a.chat.completions.create({ model: MODEL, messages: say('a secret plan'), store: true, metadata: { app: 'a' } });
    const theirs = await k.b.chat.completions.create({ model: MODEL, messages: say('b notes'), store: true });

    // B: every verb on A's completion is a gateway 404, identical to an id that does not exist at all.
    const foreign = await expectGatewayNotFound(h, () => k.b.chat.completions.retrieve(mine.id), mine.id);
    const unknownId = `${mine.id.slice(0, -3)}zzz`;
    expect(await expectGatewayNotFound(h, () => k.b.chat.completions.retrieve(unknownId), unknownId)).toBe(foreign);
    await expectGatewayNotFound(h, () => k.b.chat.completions.update(mine.id, { metadata: { app: 'b' } }));
    await expectGatewayNotFound(h, () => collectIds(k.b.chat.completions.messages.list(mine.id)));
    await expectGatewayNotFound(h, () => k.b.chat.completions.delete(mine.id));

    // Lists: each key sees only its own, although the upstream's list holds both.
    const listA = await collectIds(k.a.chat.completions.list());
    const listB = await collectIds(k.b.chat.completions.list());
    expect(listA).toContain(mine.id);
    expect(listA).not.toContain(theirs.id);
    expect(listB).toEqual([theirs.id]);

    // A: everything works and still exists after B's attempts.
    expect((await k.a.chat.completions.retrieve(mine.id)).id).toBe(mine.id);
    const updated = await k.a.chat.completions.update(mine.id, { metadata: { app: 'a2' } });
    expect((updated as unknown as { metadata: unknown }).metadata).toEqual({ app: 'a2' });
    const messages = await collectIds(k.a.chat.completions.messages.list(mine.id));
    expect(messages).toHaveLength(1);
    expect((await k.a.chat.completions.delete(mine.id)).deleted).toBe(true);
  });

  it('records a streamed stored completion from its first chunk', async () => {
    const stream = await k.a.chat.completions.create({ model: MODEL, messages: say('stream me'), store: true, stream: true });
    let id = '';
    for await (const chunk of stream) id ||= chunk.id;
    expect(id).toMatch(/^chatcmpl-/);
    expect((await k.a.chat.completions.retrieve(id)).id).toBe(id);
    await expectGatewayNotFound(h, () => k.b.chat.completions.retrieve(id));
  });

  it('an unstored completion is owned by nobody', async () => {
    const plain = await k.a.chat.completions.create({ model: MODEL, messages: say('no store') });
    await expectGatewayNotFound(h, () => k.a.chat.completions.retrieve(plain.id));
  });

  it('filtered list pages stay consistent: first_id / last_id are own items and pagination skips none', async () => {
    const own: string[] = [];
    for (let i = 0; i < 3; i++) {
      own.push((await k.b.chat.completions.create({ model: MODEL, messages: say(`b${i}`), store: true })).id);
      await k.a.chat.completions.create({ model: MODEL, messages: say(`a${i}`), store: true });
    }
    // limit 2 over an interleaved upstream list: each upstream page holds one of B's and one of A's.
    const res = await fetch(`${h.server.url}/v1/chat/completions?limit=2`, { headers: { authorization: `Bearer ${k.bSecret}` } });
    const body = (await res.json()) as { object: string; data: Array<{ id: string }>; first_id: string; last_id: string; has_more: boolean };
    expect(body.object).toBe('list');
    // The gateway fetched a fuller upstream page, so B gets a full page of its own items, and more remain.
    expect(body.data).toHaveLength(2);
    expect(body.has_more).toBe(true);
    expect(body.first_id).toBe(body.data[0]?.id);
    expect(body.last_id).toBe(body.data[body.data.length - 1]?.id);
    const all = await collectIds(k.b.chat.completions.list({ limit: 2 }));
    for (const id of own) expect(all).toContain(id);
    expect(new Set(all).size).toBe(all.length);
    const aList = await collectIds(k.a.chat.completions.list({ limit: 100 }));
    for (const id of all) expect(aList).not.toContain(id);
  });
  it('a long run of foreign items between own ones neither ends nor skips pagination', async () => {
    const c = h.client((await h.createKey({ name: 'c', endpoints: ['*'] })).key);
    const d = h.client((await h.createKey({ name: 'd', endpoints: ['*'] })).key);
    const own: string[] = [];
    for (let round = 0; round < 3; round++) {
      own.push((await d.chat.completions.create({ model: MODEL, messages: say(`d${round}`), store: true })).id);
      for (let i = 0; i < 5; i++) await c.chat.completions.create({ model: MODEL, messages: say(`c${round}.${i}`), store: true });
    }
    // Oldest first: D's three items sit among all the others; each client page holds 2.
    const seen = await collectIds(d.chat.completions.list({ limit: 2, order: 'asc' }));
    expect(seen).toEqual(own);
    const newestFirst = await collectIds(d.chat.completions.list({ limit: 1, order: 'desc' }));
    expect(newestFirst).toEqual([...own].reverse());
  });
});

describe('stored responses', () => {
  it('B cannot retrieve, read input items of, cancel or delete A\'s response; A can', async () => {
    const mine = await k.a.responses.create({ model: MODEL, input: 'private A input' });
    await expectGatewayNotFound(h, () => k.b.responses.retrieve(mine.id));
    await expectGatewayNotFound(h, () => collectIds(k.b.responses.inputItems.list(mine.id)));
    await expectGatewayNotFound(h, () => k.b.responses.cancel(mine.id));
    await expectGatewayNotFound(h, () => k.b.responses.delete(mine.id));
    expect((await k.a.responses.retrieve(mine.id)).id).toBe(mine.id);
    expect(await collectIds(k.a.responses.inputItems.list(mine.id))).toHaveLength(1);
    expect((await k.a.responses.cancel(mine.id)).id).toBe(mine.id);
    await k.a.responses.delete(mine.id);
  });

  it('a streamed creation is owned from its response.created event, before the stream ends', async () => {
    const stream = await k.a.responses.create({ model: MODEL, input: 'stream', stream: true });
    let checked = false;
    for await (const event of stream) {
      if (event.type !== 'response.created') continue;
      const id = event.response.id;
      // The stream is still open: the owner record must already be visible to the very next request.
      expect((await k.a.responses.retrieve(id)).id).toBe(id);
      await expectGatewayNotFound(h, () => k.b.responses.retrieve(id));
      checked = true;
    }
    expect(checked).toBe(true);
  });

  it('store: false leaves nothing to own', async () => {
    const unstored = await k.a.responses.create({ model: MODEL, input: 'x', store: false });
    await expectGatewayNotFound(h, () => k.a.responses.retrieve(unstored.id));
  });

  it('previous_response_id naming A\'s response is refused for B (history would leak), and works for A', async () => {
    const mine = await k.a.responses.create({ model: MODEL, input: 'remember: the code is 1234' });
    const before = h.fake.requestCount;
    const err = await apiErrorOf(k.b.responses.create({ model: MODEL, input: 'what is the code?', previous_response_id: mine.id }));
    expect(err.status).toBe(404);
    expect(err.code).toBe('not_found');
    expect(err.param).toBe('previous_response_id');
    // Also when hidden in a streamed request or in the compact operation.
    await expectGatewayNotFound(h, () => k.b.responses.create({ model: MODEL, input: 'x', previous_response_id: mine.id, stream: true }));
    await expectGatewayNotFound(h, () => k.b.responses.compact({ model: MODEL, previous_response_id: mine.id }));
    expect(h.fake.requestCount).toBe(before);
    const followUp = await k.a.responses.create({ model: MODEL, input: 'and now?', previous_response_id: mine.id });
    expect(followUp.previous_response_id).toBe(mine.id);
  });

  it('a JSON key spelled with escapes (previous\\u005fresponse\\u005fid) is still checked', async () => {
    const mine = await k.a.responses.create({ model: MODEL, input: 'x' });
    const before = h.fake.requestCount;
    const body = `{"model":"${MODEL}","input":"x","previous\\u005fresponse\\u005fid":"${mine.id}"}`;
    const res = await fetch(`${h.server.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${k.bSecret}`, 'content-type': 'application/json' },
      body,
    });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
    expect(h.fake.requestCount).toBe(before);
  });

  it('item_reference inputs (which pull items of any stored response) are refused', async () => {
    const err = await apiErrorOf(
      k.b.responses.create({ model: MODEL, input: [{ type: 'item_reference', id: 'msg_someone_elses' }] }),
    );
    expect(err.status).toBe(400);
  });
});

describe('conversations', () => {
  it('B cannot read, update, delete or continue A\'s conversation', async () => {
    const conv = await k.a.conversations.create({ metadata: { owner: 'a' } });
    await expectGatewayNotFound(h, () => k.b.conversations.retrieve(conv.id));
    await expectGatewayNotFound(h, () => k.b.conversations.update(conv.id, { metadata: { owner: 'b' } }));
    await expectGatewayNotFound(h, () => k.b.conversations.delete(conv.id));
    await expectGatewayNotFound(h, () => k.b.responses.create({ model: MODEL, input: 'hi', conversation: conv.id }));
    await expectGatewayNotFound(h, () => k.b.responses.create({ model: MODEL, input: 'hi', conversation: { id: conv.id } }));
    // A non-id shape is refused rather than guessed at by a lenient upstream.
    const shape = await apiErrorOf(k.b.responses.create({ model: MODEL, input: 'hi', conversation: { id: [conv.id] } as unknown as string }));
    expect(shape.status).toBe(400);
    expect((await k.a.conversations.retrieve(conv.id)).id).toBe(conv.id);
    const reply = await k.a.responses.create({ model: MODEL, input: 'hi', conversation: conv.id });
    expect(reply.id).toMatch(/^resp_/);
  });
});
