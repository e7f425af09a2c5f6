import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';

interface UpstreamView {
  id: string;
  name: string;
  base_url: string;
  default: boolean;
}
interface ErrorBody {
  error: { message: string; type: string; code: string; param: string | null };
}
interface AuditLine {
  action: string;
  target: string;
  after: Record<string, unknown> | null;
}

let h: Harness;
/** Three independent providers, each with its own key, so a request's destination is visible. */
let fakes: Record<'a' | 'b' | 'c', { fake: FakeOpenAI; key: string }>;

beforeEach(async () => {
  h = await startHarness({ withUpstream: false });
  const start = async (): Promise<{ fake: FakeOpenAI; key: string }> => {
    const key = `sk-proj-${randomBytes(30).toString('base64url')}`;
    return { fake: await startFakeOpenAI({ apiKeys: [key] }), key };
  };
  fakes = { a: await start(), b: await start(), c: await start() };
});
afterEach(async () => {
  await h.close();
  await Promise.all(Object.values(fakes).map((f) => f.fake.close()));
});

async function addUpstream(name: 'a' | 'b' | 'c', extra: Record<string, unknown> = {}): Promise<UpstreamView> {
  const res = await h.admin<UpstreamView>('POST', '/upstreams', {
    name,
    provider: 'openai-compatible',
    base_url: fakes[name].fake.url,
    keys: [fakes[name].key],
    ...extra,
  });
  expect(res.status).toBe(201);
  return res.body;
}

async function upstreams(): Promise<UpstreamView[]> {
  return (await h.admin<{ data: UpstreamView[] }>('GET', '/upstreams')).body.data;
}

const defaults = async (): Promise<string[]> => (await upstreams()).filter((u) => u.default).map((u) => u.name);

async function chat(key: string): Promise<void> {
  const completion = await h.client(key).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
  expect(completion.choices).toHaveLength(1);
}

const counts = (): number[] => [fakes.a.fake.requestCount, fakes.b.fake.requestCount, fakes.c.fake.requestCount];

async function auditLines(action: string): Promise<AuditLine[]> {
  const res = await h.admin<{ data: AuditLine[] }>('GET', '/audit?limit=5000');
  return res.body.data.filter((line) => line.action === action);
}

describe('the default upstream never changes by accident', () => {
  it('adding a second upstream without default keeps existing keys working through the SDK', async () => {
    const first = await addUpstream('a');
    expect(first.default).toBe(true);
    const { key } = await h.createKey({ name: 'app' });
    await chat(key);
    expect(counts()).toEqual([1, 0, 0]);

    const second = await addUpstream('b');
    expect(second.default).toBe(false);
    expect(await defaults()).toEqual(['a']);
    // The bug was a 503 no_upstream here (and the SDK retries 503s).
    await chat(key);
    await chat(key);
    expect(counts()).toEqual([3, 0, 0]);

    // Only an explicit default moves it, and then there is exactly one.
    await addUpstream('c', { default: true });
    expect(await defaults()).toEqual(['c']);
    await chat(key);
    expect(counts()).toEqual([3, 0, 1]);

    const bound = await h.createKey({ name: 'bound', upstream: 'b' });
    await chat(bound.key);
    expect(counts()).toEqual([3, 1, 1]);
  });

  it('an upstream that was the default only by being alone is marked before a second is added', async () => {
    const first = await addUpstream('a');
    // Data written before this fix: a single upstream never marked default.
    await h.server.services.store.upstreams.update(first.id, { isDefault: false });
    await h.server.gateway.upstreams.invalidate();
    const { key } = await h.createKey({ name: 'old' });
    await chat(key);

    await addUpstream('b');
    expect(await defaults()).toEqual(['a']);
    await chat(key);
    expect(counts()).toEqual([2, 0, 0]);
  });
});

describe('removing an upstream that keys use', () => {
  it('is refused (409) while keys are bound explicitly or via the default, and nothing breaks', async () => {
    await addUpstream('a');
    await addUpstream('b');
    const viaDefault = await h.createKey({ name: 'via-default' });
    const explicit = await h.createKey({ name: 'explicit', upstream: 'b' });

    const refusedDefault = await h.admin<ErrorBody>('DELETE', '/upstreams/a');
    expect(refusedDefault.status).toBe(409);
    expect(refusedDefault.body.error.code).toBe('conflict');
    expect(refusedDefault.body.error.message).toContain(`via-default (${viaDefault.id})`);
    expect(refusedDefault.body.error.message).toContain('default upstream');
    expect(refusedDefault.body.error.message).toContain('reassign');
    expect(refusedDefault.body.error.message).not.toContain(explicit.id);

    const refusedExplicit = await h.admin<ErrorBody>('DELETE', `/upstreams/${(await upstreams())[1]?.id ?? ''}`);
    expect(refusedExplicit.status).toBe(409);
    expect(refusedExplicit.body.error.message).toContain(`explicit (${explicit.id})`);

    expect((await upstreams()).map((u) => u.name)).toEqual(['a', 'b']);
    expect(await auditLines('upstream.removed')).toEqual([]);
    await chat(viaDefault.key);
    await chat(explicit.key);
    expect(counts()).toEqual([1, 1, 0]);
  });

  it('is allowed when only revoked keys point at it', async () => {
    await addUpstream('a');
    await addUpstream('b');
    const old = await h.createKey({ name: 'old', upstream: 'b' });
    expect((await h.admin('POST', `/keys/${old.id}/revoke`)).status).toBe(200);
    const removed = await h.admin<{ deleted: boolean; reassigned: unknown }>('DELETE', '/upstreams/b');
    expect(removed.status).toBe(200);
    expect(removed.body).toMatchObject({ deleted: true, reassigned: null });
  });

  it('with reassign_to moves the keys and the default in one audited step; the SDK keeps working', async () => {
    await addUpstream('a');
    await addUpstream('b');
    await addUpstream('c');
    const viaDefault = await h.createKey({ name: 'via-default' });
    const onA = await h.createKey({ name: 'on-a', upstream: 'a' });
    const onC = await h.createKey({ name: 'on-c', upstream: 'c' });

    const self = await h.admin<ErrorBody>('DELETE', '/upstreams/a?reassign_to=a');
    expect(self.status).toBe(400);
    const unknown = await h.admin<ErrorBody>('DELETE', '/upstreams/a?reassign_to=nope');
    expect(unknown.status).toBe(404);
    const junk = await h.admin<ErrorBody>('DELETE', '/upstreams/a?reassign_to=b&force=1');
    expect(junk.status).toBe(400);
    expect((await upstreams()).map((u) => u.name)).toEqual(['a', 'b', 'c']);

    const removed = await h.admin<{ deleted: boolean; reassigned: { moved_key_ids: string[]; default_moved: boolean } }>(
      'DELETE',
      '/upstreams/a?reassign_to=b',
    );
    expect(removed.status).toBe(200);
    expect(removed.body.reassigned).toEqual({ moved_key_ids: [onA.id], default_moved: true });
    expect(await defaults()).toEqual(['b']);
    const b = (await upstreams()).find((u) => u.name === 'b') as UpstreamView;
    expect((await h.admin<{ upstream_id: string | null }>('GET', `/keys/${onA.id}`)).body.upstream_id).toBe(b.id);
    expect((await h.admin<{ upstream_id: string | null }>('GET', `/keys/${onC.id}`)).body.upstream_id).not.toBe(b.id);

    await chat(viaDefault.key);
    await chat(onA.key);
    await chat(onC.key);
    expect(counts()).toEqual([0, 2, 1]);

    const entries = await auditLines('upstream.removed');
    expect(entries).toHaveLength(1);
    expect(entries[0]?.after).toMatchObject({ reassigned_to: b.id, moved_key_ids: [onA.id], default_moved_to: b.id });
    const verify = await h.admin<{ ok: boolean }>('GET', '/audit/verify');
    expect(verify.body.ok).toBe(true);
  });
});

describe('updating an upstream', () => {
  it('changes name, base URL and default by id or name, audited; refuses mistakes', async () => {
    const a = await addUpstream('a');
    await addUpstream('b');
    const key = await h.createKey({ name: 'pinned', upstream: 'b' });

    const renamed = await h.admin<UpstreamView>('PATCH', '/upstreams/b', { name: 'b2' });
    expect(renamed.status).toBe(200);
    expect(renamed.body.name).toBe('b2');
    const clash = await h.admin<ErrorBody>('PATCH', '/upstreams/b2', { name: 'a' });
    expect(clash.status).toBe(409);
    const unset = await h.admin<ErrorBody>('PATCH', `/upstreams/${a.id}`, { default: false });
    expect(unset.status).toBe(400);
    expect(unset.body.error.message).toContain('another upstream the default');
    expect((await h.admin<ErrorBody>('PATCH', '/upstreams/b2', {})).status).toBe(400);
    expect((await h.admin<ErrorBody>('PATCH', '/upstreams/b2', { keys: ['sk-x'] })).status).toBe(400);
    expect((await h.admin<ErrorBody>('PATCH', '/upstreams/b2', { base_url: 'not a url' })).status).toBe(400);
    expect((await h.admin<ErrorBody>('PATCH', '/upstreams/nope', { name: 'x' })).status).toBe(404);
    // Hostile shapes: an array body, nested deployments, a huge name, prototype keys.
    expect((await h.admin<ErrorBody>('PATCH', '/upstreams/b2', [{ name: 'x' }])).status).toBe(400);
    expect((await h.admin<ErrorBody>('PATCH', '/upstreams/b2', { deployments: { 'gpt-4o': { deep: { deeper: 'x' } } } })).status).toBe(400);
    expect((await h.admin<ErrorBody>('PATCH', '/upstreams/b2', { name: 'n'.repeat(100_000) })).status).toBe(400);
    const proto = await h.admin<ErrorBody>('PATCH', '/upstreams/b2', JSON.parse('{"__proto__":{"default":true}}'));
    expect(proto.status).toBe(400);
    expect(await defaults()).toEqual(['a']);
    const badJson = await fetch(`${h.server.url}/admin/v1/upstreams/b2`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${h.adminToken}`, 'content-type': 'application/json' },
      body: '{"name":',
    });
    expect(badJson.status).toBe(400);
    expect(((await badJson.json()) as ErrorBody).error.code).toBe('invalid_json');

    // The gateway follows a base URL change at once (the registry reloads): a's host answers, with b2's key kept.
    await chat(key.key);
    expect(counts()).toEqual([0, 1, 0]);
    fakes.a.fake.configure({ apiKeys: [fakes.a.key, fakes.b.key] });
    expect((await h.admin('PATCH', '/upstreams/b2', { base_url: fakes.a.fake.url })).status).toBe(200);
    await chat(key.key);
    expect(counts()).toEqual([1, 1, 0]);

    expect((await h.admin<UpstreamView>('PATCH', '/upstreams/b2', { default: true })).body.default).toBe(true);
    expect(await defaults()).toEqual(['b2']);
    const updates = await auditLines('upstream.updated');
    expect(updates.length).toBe(3);
    expect(updates.every((u) => !JSON.stringify(u).includes(fakes.b.key))).toBe(true);
  });
});
