// Object ownership for ChatKit. A session is started for an end user's name and its client secret reads every thread
// of that user, and the threads themselves are made by the app's front end talking to the provider directly, where
// the gateway cannot see. So each user name belongs to the first key that starts a session for it, and a thread
// belongs to the key that owns its user: listed only by naming an own user, read back from the upstream to learn
// its user when the gateway has not seen it.
import type OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { apiErrorOf } from '../support/api-error.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { collectIds, expectGatewayNotFound, twoKeys, type TwoKeys } from './ownership-helpers.js';

let h: Harness;
let k: TwoKeys;
const workflow = { id: 'wf_support' };

beforeAll(async () => {
  h = await startHarness();
  k = await twoKeys(h);
});
afterAll(() => h.close());
beforeEach(() => h.fake.reset());

/** The app's front end: a message in a new thread, sent to the provider directly with the session's client secret. */
async function frontEndThread(session: OpenAI.Beta.ChatKit.ChatSession): Promise<string> {
  const res = await fetch(`${h.fake.url}/chatkit/conversation`, {
    method: 'POST',
    headers: { authorization: `Bearer ${h.upstreamKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ client_secret: session.client_secret, text: 'my order never came' }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { id: string }).id;
}

/** Requests of `method` on `route` that reached the fake upstream (the judge: what the provider was asked to do). */
const reached = (method: string, route: string) => h.fake.requests.filter((r) => r.method === method && r.route === route).length;

describe('ChatKit', () => {
  it('gives each end-user name to the first key that starts a session for it', async () => {
    const mine = await k.a.beta.chatkit.sessions.create({ user: 'alice-1', workflow });
    expect(mine.user).toBe('alice-1');
    // Again for the same key: its own name.
    expect((await k.a.beta.chatkit.sessions.create({ user: 'alice-1', workflow })).status).toBe('active');
    const before = h.fake.requestCount;
    const taken = await apiErrorOf(k.b.beta.chatkit.sessions.create({ user: 'alice-1', workflow }));
    expect(taken.status).toBe(404);
    expect(taken.code).toBe('not_found');
    expect(taken.param).toBe('user');
    expect(h.fake.requestCount).toBe(before);
    expect((await k.b.beta.chatkit.sessions.create({ user: 'bob-1', workflow })).user).toBe('bob-1');
    // B may not cancel A's session.
    await expectGatewayNotFound(h, () => k.b.beta.chatkit.sessions.cancel(mine.id));
    expect((await k.a.beta.chatkit.sessions.cancel(mine.id)).status).toBe('cancelled');
  });

  it('refuses a session without a user name the gateway can hold to one key', async () => {
    for (const user of ['', 'x'.repeat(257), 42]) {
      const err = await apiErrorOf(k.a.post('/chatkit/sessions', { body: { user, workflow }, headers: { 'OpenAI-Beta': 'chatkit_beta=v1' } }));
      expect(err.status).toBe(400);
      expect(err.param).toBe('user');
    }
    expect(reached('POST', '/chatkit/sessions')).toBe(0);
  });

  it('refuses ChatKit routes it does not know rather than pass them on unpartitioned', async () => {
    const before = h.fake.requestCount;
    for (const [method, path] of [['POST', '/chatkit/conversation'], ['GET', '/chatkit/files'], ['POST', '/Chatkit/Conversation']] as const) {
      const res = await fetch(`${h.server.url}/v1${path}`, { method, headers: { authorization: `Bearer ${k.aSecret}`, 'content-type': 'application/json' }, ...(method === 'POST' ? { body: '{}' } : {}) });
      expect(res.status).toBe(404);
    }
    expect(h.fake.requestCount).toBe(before);
  });

  it("lists only the threads of a user the key owns, and only that user's", async () => {
    const session = await k.a.beta.chatkit.sessions.create({ user: 'alice-2', workflow });
    const thread = await frontEndThread(session);
    const other = await frontEndThread(await k.b.beta.chatkit.sessions.create({ user: 'bob-2', workflow }));
    expect(await collectIds(k.a.beta.chatkit.threads.list({ user: 'alice-2' }))).toEqual([thread]);
    await expectGatewayNotFound(h, () => k.a.beta.chatkit.threads.list({ user: 'bob-2' }));
    // Every user's threads at once, or a name given twice, is not a list a key may ask for.
    const all = await apiErrorOf(k.a.beta.chatkit.threads.list());
    expect(all.status).toBe(400);
    expect(all.param).toBe('user');
    const twice = await fetch(`${h.server.url}/v1/chatkit/threads?user=alice-2&user=bob-2`, { headers: { authorization: `Bearer ${k.aSecret}`, 'OpenAI-Beta': 'chatkit_beta=v1' } });
    expect(twice.status).toBe(400);
    expect(((await twice.json()) as { error: { param: string } }).error.param).toBe('user');
    expect(await collectIds(k.b.beta.chatkit.threads.list({ user: 'bob-2' }))).toEqual([other]);
  });

  it("B cannot read, list the items of or delete A's thread, even one the gateway never saw", async () => {
    const thread = await frontEndThread(await k.a.beta.chatkit.sessions.create({ user: 'alice-3', workflow }));
    // Unseen by the gateway: it reads the thread back to learn its user, then refuses, and nothing else is asked.
    for (const call of [() => k.b.beta.chatkit.threads.retrieve(thread), () => k.b.beta.chatkit.threads.delete(thread), () => collectIds(k.b.beta.chatkit.threads.listItems(thread))]) {
      const err = await apiErrorOf(call());
      expect(err.status).toBe(404);
      expect(err.code).toBe('not_found');
    }
    expect(reached('DELETE', `/chatkit/threads/${thread}`)).toBe(0);
    expect(reached('GET', `/chatkit/threads/${thread}/items`)).toBe(0);
    // A thread that does not exist answers the same.
    expect((await apiErrorOf(k.b.beta.chatkit.threads.retrieve('cthr_nope'))).code).toBe('not_found');
    // The owner reaches it (learned by the same read-back), and once learned, B is refused without one.
    expect((await k.a.beta.chatkit.threads.retrieve(thread)).user).toBe('alice-3');
    await expectGatewayNotFound(h, () => k.b.beta.chatkit.threads.retrieve(thread));
    expect(await collectIds(k.a.beta.chatkit.threads.listItems(thread))).toHaveLength(1);
    expect((await k.a.beta.chatkit.threads.delete(thread)).deleted).toBe(true);
  });

  it('answers 502, and forwards nothing, when a thread cannot be read back', async () => {
    const thread = await frontEndThread(await k.a.beta.chatkit.sessions.create({ user: 'alice-5', workflow }));
    for (const behavior of [{ type: 'error' as const, status: 500 }, { type: 'drop' as const }, { type: 'html' as const, status: 200 }]) {
      h.fake.queueBehavior(behavior);
      const err = await apiErrorOf(k.a.beta.chatkit.threads.delete(thread));
      expect(err.status).toBe(502);
      expect(err.code).toBe('upstream_unavailable');
      expect(JSON.stringify(err.error)).not.toContain(h.upstreamKey);
    }
    expect(reached('DELETE', `/chatkit/threads/${thread}`)).toBe(0);
    expect((await k.a.beta.chatkit.threads.delete(thread)).deleted).toBe(true);
  });
});
