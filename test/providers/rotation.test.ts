import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import type OpenAI from 'openai';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import { RotationJob } from '../../src/providers/rotation/rotation-job.js';
import { UpstreamLinks } from '../../src/providers/rotation/upstream-link.js';
import type { UpstreamKeyRecord } from '../../src/store/index.js';
import { cli } from '../cli/run-cli.js';
import { waitFor } from '../support/wait-for.js';
import { startProviderHarness, type ProviderHarness } from './provider-harness.js';
import { startChatLoad } from '../support/chat-load.js';

// `upstreams rotate` at the provider: a new service-account key is created at the (fake) OpenAI Admin API, sealed,
// switched in while requests keep flowing, and the old key is deleted at the provider only once no request holds
// it. The fake upstream accepts exactly the keys the fake Admin API holds, so a key deleted too early, or a
// request sent with it afterwards, is a 401 and a failed request.

interface RotationJson {
  added_key_id: string;
  added_provider_key_id: string;
  added_display: string;
  removed_key_ids: string[];
  in_flight_at_removal: number;
  deleted_provider_key_ids: string[];
  left_at_provider: unknown[];
}
interface UpstreamJson {
  id: string;
  name: string;
  keys: Array<{ id: string; display: string }>;
}
interface AuditJson {
  data: Array<{ action: string; after: Record<string, unknown> | null; actor: string }>;
}

const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'hello' }] };

let p: ProviderHarness;
let client: OpenAI;
let projectId: string;
let serviceAccountId: string;
/** When each secret stopped being live at the fake provider (deleted through the Admin API). */
const deletedAt = new Map<string, number>();
let live: string[] = [];

async function upstream(): Promise<UpstreamJson> {
  const list = await p.h.admin<{ data: UpstreamJson[] }>('GET', '/upstreams');
  const found = list.body.data.find((u) => u.name === 'fake');
  if (!found) throw new Error('no upstream "fake"');
  return found;
}

async function auditEntries(): Promise<AuditJson['data']> {
  // Storage order, oldest first: callers look from the end for the latest entry of an action.
  return (await p.h.admin<AuditJson>('GET', '/audit?limit=5000')).body.data;
}

/** Every file under the data directory, as text (SQLite pages included), to grep for secrets at rest. */
async function dataDirText(): Promise<string> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else out.push((await readFile(full)).toString('latin1'));
    }
  };
  await walk(p.h.dataDir);
  return out.join('\n');
}

beforeAll(async () => {
  p = await startProviderHarness({ harness: { config: { upstream: { connections: 64 }, providers: { rotation: { enabled: false } } } } });
  expect(await p.connect()).toBe(200);
  projectId = p.admin.addProject('production');
  // The harness's vaulted upstream key is a service-account key of the fake organisation.
  const key = p.admin.addServiceAccountKey(projectId, 'gateway', p.h.upstreamKey);
  serviceAccountId = key.serviceAccountId ?? '';
  p.admin.onKeysChanged((secrets) => {
    for (const secret of live) if (!secrets.includes(secret)) deletedAt.set(secret, Date.now());
    live = secrets;
    p.h.fake.configure({ apiKeys: secrets });
  });
  live = p.admin.keys().map((k) => k.secret);
  p.h.fake.configure({ apiKeys: live });
  client = p.h.client((await p.h.createKey({ name: 'steady' })).key, { timeout: 20_000 });
});
afterAll(() => p.close());

describe('linking an upstream to its service account', () => {
  it('refuses rotation before linking, then discovers the service account from the vaulted key', async () => {
    const before = await p.h.admin<{ error: { code: string; message: string } }>('POST', '/upstreams/fake/rotate', {});
    expect(before.status).toBe(409);
    expect(before.body.error.message).toContain('upstreams link');
    expect(p.admin.requests.some((r) => r.method === 'POST')).toBe(false);

    // Malformed links: half the ids, a bogus account, a too-short period, unknown fields.
    expect((await p.h.admin('PUT', '/upstreams/fake/provider', { project_id: projectId })).status).toBe(400);
    expect((await p.h.admin('PUT', '/upstreams/fake/provider', { project_id: projectId, service_account_id: 'svc_acct_nope' })).status).toBe(400);
    expect((await p.h.admin('PUT', '/upstreams/fake/provider', { rotation: '5m' })).status).toBe(400);
    expect((await p.h.admin('PUT', '/upstreams/fake/provider', { rotation: 'soon' })).status).toBe(400);
    expect((await p.h.admin('PUT', '/upstreams/fake/provider', { extra: true })).status).toBe(400);
    expect((await p.h.admin('PUT', '/upstreams/nope/provider', {})).status).toBe(404);
    expect((await p.h.admin<{ linked: boolean }>('GET', '/upstreams/fake/provider')).body.linked).toBe(false);

    const linked = await p.h.admin<{ project_id: string; service_account_id: string; rotation_ms: number | null }>('PUT', '/upstreams/fake/provider', {});
    expect(linked.status).toBe(200);
    expect(linked.body).toMatchObject({ project_id: projectId, service_account_id: serviceAccountId, rotation_ms: null });
  });

  it('refuses to discover a link for a key owned by a user (only service-account keys rotate)', async () => {
    const userKey = p.admin.addKey(projectId, { ownerEmail: 'dev@example.com' });
    const added = await p.h.admin('POST', '/upstreams', { name: 'user-owned', provider: 'openai-compatible', base_url: p.h.fake.url, keys: [userKey.secret] });
    expect(added.status).toBe(201);
    const refused = await p.h.admin<{ error: { message: string } }>('PUT', '/upstreams/user-owned/provider', {});
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toContain('belongs to a user');
    expect((await p.h.admin('DELETE', '/upstreams/user-owned')).status).toBe(200);
  });
});

describe('rotation under load', () => {
  it('200 SDK requests (a third streaming) across a rotation: 0 failures, new key after the switch, old key deleted at the provider only after its last request', async () => {
    const oldSecret = p.h.upstreamKey;
    const oldProviderKey = p.admin.keys().find((k) => k.secret === oldSecret);
    expect(oldProviderKey).toBeDefined();
    const oldKeyId = (await upstream()).keys[0]?.id ?? '';
    p.h.fake.setBehavior({ type: 'ok', chunkDelayMs: 25 });

    // The moment the vault record switches (old key marked retiring): how many old-key requests were unfinished.
    const repo = p.h.server.services.store.upstreams;
    const replaceKeys = repo.replaceKeys.bind(repo);
    let unfinishedOldAtSwitch = -1;
    let switchedAt = 0;
    repo.replaceKeys = async (id: string, keys: UpstreamKeyRecord[]): Promise<void> => {
      if (switchedAt === 0 && keys.some((k) => k.retiring === true)) {
        switchedAt = Date.now();
        unfinishedOldAtSwitch = p.h.fake.requests.filter((r) => r.presentedKey === oldSecret && r.outcome !== 'completed').length;
      }
      await replaceKeys(id, keys);
    };

    const TOTAL = 200;
    const load = startChatLoad(client, chat, { total: TOTAL, workers: 10 });
    await waitFor(() => load.succeeded >= 30, { timeoutMs: 20_000, what: 'load running' });

    // One deliberately slow stream on the old key, in flight when the rotation starts.
    p.h.fake.setBehavior({ type: 'ok', chunkDelayMs: 250 });
    let slowDoneAt = 0;
    const slow = (async () => {
      const stream = await client.chat.completions.create({ ...chat, stream: true });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      slowDoneAt = Date.now();
      return text;
    })();
    await waitFor(() => p.h.fake.requests.some((r) => r.presentedKey === oldSecret && r.outcome === 'pending' && (r.json as { stream?: boolean }).stream === true), {
      timeoutMs: 10_000,
      what: 'slow old-key stream in flight',
    });
    p.h.fake.setBehavior({ type: 'ok', chunkDelayMs: 25 });

    const rotated = await p.h.admin<RotationJson>('POST', '/upstreams/fake/rotate', { drain_timeout_ms: 30_000 });
    await load.done;
    const slowText = await slow;

    expect(rotated.status).toBe(200);
    expect(load.failures).toEqual([]);
    expect(load.succeeded).toBe(TOTAL);
    expect(slowText.length).toBeGreaterThan(0);
    expect(p.h.fake.requests.filter((r) => r.status === 401)).toEqual([]);

    // A new key was created for the same service account and is the only vaulted key now.
    const created = p.admin.keys().find((k) => k.id === rotated.body.added_provider_key_id);
    expect(created?.serviceAccountId).toBe(serviceAccountId);
    expect(rotated.body.added_display).toBe(`sk-svcacct-…${created?.secret.slice(-4) ?? ''}`);
    expect((await upstream()).keys).toEqual([{ id: rotated.body.added_key_id, display: `…${created?.secret.slice(-4) ?? ''}` }]);
    expect(rotated.body.removed_key_ids).toEqual([oldKeyId]);

    // The fake upstream saw the new key after the switch, and never the old key after its deletion.
    const newSecret = created?.secret ?? '';
    expect(p.h.fake.requests.filter((r) => r.presentedKey === newSecret).length).toBeGreaterThan(0);
    expect(p.h.fake.requests.filter((r) => r.presentedKey === newSecret).every((r) => r.receivedAt >= switchedAt)).toBe(true);

    // The old key was deleted at the provider, after the last request on it (the slow stream) had finished.
    expect(rotated.body.deleted_provider_key_ids).toEqual([oldProviderKey?.id]);
    expect(p.admin.keys().some((k) => k.secret === oldSecret)).toBe(false);
    expect(p.admin.keys().some((k) => k.serviceAccountId === serviceAccountId)).toBe(true); // the account stays
    const oldDeletedAt = deletedAt.get(oldSecret) ?? 0;
    expect(unfinishedOldAtSwitch).toBeGreaterThan(0);
    expect(oldDeletedAt).toBeGreaterThanOrEqual(slowDoneAt - 50);
    const oldRequests = p.h.fake.requests.filter((r) => r.presentedKey === oldSecret);
    expect(oldRequests.every((r) => r.outcome === 'completed')).toBe(true);
    // (A request may reach the fake just after the switch when its key was chosen just before it.)
    expect(oldRequests.every((r) => r.receivedAt < oldDeletedAt)).toBe(true);
    expect(rotated.body.in_flight_at_removal).toBe(0);

    // Every step audited; no secret in the answer, the audit log, the logs or the data directory.
    const audit = await auditEntries();
    const actions = audit.map((e) => e.action);
    for (const step of ['provider.rotation_started', 'provider.rotation_key_created', 'upstream.key_rotated', 'provider.rotation_old_key_deleted', 'provider.rotation_completed']) {
      expect(actions).toContain(step);
    }
    const files = await dataDirText();
    for (const text of [JSON.stringify(rotated.body), JSON.stringify(audit), p.h.logs(), files]) {
      expect(text).not.toContain(newSecret);
      expect(text).not.toContain(oldSecret);
      expect(text).not.toContain(p.admin.adminKey);
    }
    repo.replaceKeys = replaceKeys;
    p.h.upstreamKey = newSecret;
  }, 90_000);
});

describe('rotation failures leave the old key working', () => {
  it('the provider fails creating the key: nothing changes, the old key serves, the audit says what failed', async () => {
    const before = await upstream();
    const keysBefore = p.admin.keys().map((k) => k.id);
    p.admin.failNext(/^POST .*\/service_accounts\/[^/]+\/api_keys$/, 500);
    const failed = await p.h.admin<{ error: { code: string; message: string } }>('POST', '/upstreams/fake/rotate', {});
    expect(failed.status).toBe(502);
    expect(failed.body.error.code).toBe('provider_admin_failed');
    expect(failed.body.error.message).toContain('old key is unchanged');
    expect(await upstream()).toEqual(before);
    expect(p.admin.keys().map((k) => k.id)).toEqual(keysBefore);
    expect((await client.chat.completions.create(chat)).choices[0]?.message.content).toBeTruthy();
    const last = (await auditEntries()).findLast((e) => e.action === 'provider.rotation_failed');
    expect(last?.after).toMatchObject({ step: 'create_key', old_key_kept: true });
  });

  it('sealing/switching fails after the provider created the key: the new key is deleted at the provider, the old one kept', async () => {
    const before = await upstream();
    const keysBefore = p.admin.keys().map((k) => k.id);
    const repo = p.h.server.services.store.upstreams;
    const replaceKeys = repo.replaceKeys.bind(repo);
    repo.replaceKeys = (): Promise<void> => Promise.reject(new Error('disk full'));
    let failed;
    try {
      failed = await p.h.admin<{ error: { code: string; message: string } }>('POST', '/upstreams/fake/rotate', {});
    } finally {
      repo.replaceKeys = replaceKeys;
    }
    expect(failed.status).toBe(502);
    expect(failed.body.error.message).toContain('new key was deleted at the provider');
    // The key it created was deleted again: the provider holds exactly the keys it held before.
    expect(p.admin.keys().map((k) => k.id)).toEqual(keysBefore);
    expect(p.admin.deleted.length).toBeGreaterThan(0);
    expect(await upstream()).toEqual(before);
    expect((await client.chat.completions.create(chat)).choices[0]?.message.content).toBeTruthy();
    const entry = (await auditEntries()).findLast((e) => e.action === 'provider.rotation_failed');
    expect(entry?.after).toMatchObject({ step: 'seal_and_switch', old_key_kept: true, new_key_deleted: true });
  });

  it('deleting the old key fails at the provider: the rotation completes, the old key is reported and deleted by the next pass', async () => {
    const oldSecret = p.h.upstreamKey;
    p.admin.failNext(/^DELETE .*\/api_keys\/[^/]+$/, 500);
    const rotated = await p.h.admin<RotationJson>('POST', '/upstreams/fake/rotate', {});
    expect(rotated.status).toBe(200);
    expect(rotated.body.deleted_provider_key_ids).toEqual([]);
    expect(rotated.body.left_at_provider).toHaveLength(1);
    expect(p.admin.keys().some((k) => k.secret === oldSecret)).toBe(true);
    const link = await p.h.admin<{ pending_deletes: string[] }>('GET', '/upstreams/fake/provider');
    expect(link.body.pending_deletes).toHaveLength(1);
    // Requests use the new key meanwhile.
    expect((await client.chat.completions.create(chat)).choices[0]?.message.content).toBeTruthy();
    expect(p.h.fake.requests.at(-1)?.presentedKey).not.toBe(oldSecret);

    const pass = await p.h.admin<{ rotated: string[]; failed: string[] }>('POST', '/upstreams/rotation/run', {});
    expect(pass.status).toBe(200);
    expect(pass.body.rotated).toEqual([]); // no period set: nothing is due, only the leftover is cleaned up
    expect(p.admin.keys().some((k) => k.secret === oldSecret)).toBe(false);
    expect((await p.h.admin<{ pending_deletes: string[] }>('GET', '/upstreams/fake/provider')).body.pending_deletes).toEqual([]);
    p.h.upstreamKey = p.admin.keys().find((k) => k.id === p.admin.keys().at(-1)?.id)?.secret ?? '';
  });

  it('two rotations of one upstream at once: the second is refused (409), only one key is created', async () => {
    const createdBefore = p.admin.requests.filter((r) => r.method === 'POST').length;
    const [a, b] = await Promise.all([p.h.admin('POST', '/upstreams/fake/rotate', {}), p.h.admin('POST', '/upstreams/fake/rotate', {})]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    expect(p.admin.requests.filter((r) => r.method === 'POST').length - createdBefore).toBe(1);
    expect((await upstream()).keys).toHaveLength(1);
    expect((await client.chat.completions.create(chat)).choices[0]?.message.content).toBeTruthy();
  });
});

describe('drain timeout', () => {
  it('a request outlasting the drain timeout: the old key is deleted anyway, and the audit says how many were still in flight', async () => {
    const record = await p.h.server.services.store.upstreams.getByName('fake');
    const oldProviderKeyId = record?.keys[0]?.providerKeyId ?? '';
    const oldSecret = p.admin.keys().find((k) => k.id === oldProviderKeyId)?.secret ?? '';
    expect(oldSecret).not.toBe('');
    p.h.fake.setBehavior({ type: 'ok', chunkDelayMs: 200 });
    const slow = (async () => {
      const stream = await client.chat.completions.create({ ...chat, stream: true });
      for await (const chunk of stream) void chunk;
    })().catch(() => undefined);
    await waitFor(() => p.h.fake.requests.some((r) => r.presentedKey === oldSecret && r.outcome === 'pending'), { timeoutMs: 10_000, what: 'slow stream on the old key' });
    p.h.fake.setBehavior({ type: 'ok' });
    const rotated = await p.h.admin<RotationJson>('POST', '/upstreams/fake/rotate', { drain_timeout_ms: 0 });
    expect(rotated.status).toBe(200);
    expect(rotated.body.in_flight_at_removal).toBe(1);
    expect(rotated.body.deleted_provider_key_ids).toEqual([oldProviderKeyId]);
    expect(p.admin.keys().some((k) => k.id === oldProviderKeyId)).toBe(false);
    const entry = (await auditEntries()).findLast((e) => e.action === 'provider.rotation_drain_timeout');
    expect(entry?.after).toMatchObject({ in_flight: 1, drain_timeout_ms: 0 });
    await slow;
    expect((await client.chat.completions.create(chat)).choices[0]?.message.content).toBeTruthy();
  });
});

describe('scheduled rotation', () => {
  it('rotation: 30d rotates once the key is older than 30 days on the injected clock, not before; doctor reads the period', async () => {
    const set = await p.h.admin<{ rotation_ms: number }>('PUT', '/upstreams/fake/provider', { rotation: '30d' });
    expect(set.body.rotation_ms).toBe(30 * 86_400_000);
    const keyBefore = (await upstream()).keys[0]?.id;

    p.h.clock.advance(29 * 86_400_000);
    expect((await p.h.admin<{ rotated: string[] }>('POST', '/upstreams/rotation/run', {})).body.rotated).toEqual([]);
    expect((await upstream()).keys[0]?.id).toBe(keyBefore);
    const early = await p.h.admin<{ findings: Array<{ check: string }> }>('GET', '/doctor');
    expect(early.body.findings.filter((f) => f.check === 'upstream_key_old')).toEqual([]);

    p.h.clock.advance(2 * 86_400_000);
    const late = await p.h.admin<{ findings: Array<{ check: string; subject: string; message: string }> }>('GET', '/doctor');
    const flagged = late.body.findings.filter((f) => f.check === 'upstream_key_old');
    expect(flagged).toHaveLength(1);
    expect(flagged[0]?.message).toContain('30-day rotation period');

    // A job on its own (short) timer picks it up, with the server's injected clock.
    const upstreamId = (await upstream()).id;
    const server = p.h.server;
    const job = new RotationJob({
      store: server.services.store,
      links: new UpstreamLinks(server.services.store.meta),
      rotation: server.providers.rotation,
      logger: createLogger('error', new PassThrough()),
      now: () => p.h.clock.now(),
      config: { enabled: true, checkIntervalMs: 50, drainTimeoutMs: 10_000, upstreams: {} },
    });
    job.start();
    try {
      await waitFor(async () => (await upstream()).keys[0]?.id !== keyBefore, { timeoutMs: 10_000, what: 'scheduled rotation' });
    } finally {
      await job.stop();
    }
    expect(upstreamId).toMatch(/^ups_/);
    // Once: the fresh key is not due again on the next ticks.
    expect((await auditEntries()).filter((e) => e.action === 'provider.rotation_completed' && e.actor === 'system:rotation')).toHaveLength(1);
    expect((await upstream()).keys[0]?.id).not.toBe(keyBefore);
    const completed = (await auditEntries()).findLast((e) => e.action === 'provider.rotation_completed');
    expect(completed?.actor).toBe('system:rotation');
    const after = await p.h.admin<{ findings: Array<{ check: string }> }>('GET', '/doctor');
    expect(after.body.findings.filter((f) => f.check === 'upstream_key_old')).toEqual([]);
    expect((await client.chat.completions.create(chat)).choices[0]?.message.content).toBeTruthy();
  });
});

describe('the CLI', () => {
  it('upstreams update --rotation, upstreams rotate --json, and add --service-account (no key in argv or output)', async () => {
    const updated = await cli(['upstreams', 'update', 'fake', '--rotation', '7d', '--json'], p.env);
    expect(updated.status).toBe(0);
    expect(JSON.parse(updated.stdout)).toMatchObject({ rotation_ms: 7 * 86_400_000 });

    const rotated = await cli(['upstreams', 'rotate', 'fake', '--json'], p.env);
    expect(rotated.status).toBe(0);
    const body = JSON.parse(rotated.stdout) as RotationJson;
    expect(body.deleted_provider_key_ids).toHaveLength(1);

    const added = await cli(['upstreams', 'add', '--name', 'svc', '--provider', 'openai-compatible', '--base-url', p.h.fake.url, '--service-account', 'svc-gw', '--project', projectId, '--rotation', '30d', '--json'], p.env);
    expect(added.status).toBe(0);
    const created = JSON.parse(added.stdout) as UpstreamJson & { provider_link: { service_account_id: string; rotation_ms: number } };
    expect(created.provider_link.rotation_ms).toBe(30 * 86_400_000);
    const account = p.admin.keys().find((k) => k.serviceAccountId === created.provider_link.service_account_id);
    expect(account).toBeDefined();
    for (const out of [updated.stdout, rotated.stdout, added.stdout, rotated.stderr, added.stderr]) {
      for (const k of p.admin.keys()) expect(out).not.toContain(k.secret);
    }
    expect((await cli(['upstreams', 'rotate', 'nope'], p.env)).status).not.toBe(0);
  });
});
