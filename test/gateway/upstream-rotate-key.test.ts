import { randomBytes } from 'node:crypto';
import type OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { KeySlot } from '../../src/gateway/upstream-key-ring.js';
import type { UpstreamRuntime } from '../../src/gateway/upstream-registry.js';
import type { UpstreamKeyRecord, UpstreamRecord } from '../../src/store/index.js';
import { cli } from '../cli/run-cli.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { waitFor } from '../support/wait-for.js';
import { startChatLoad } from '../support/chat-load.js';

// `upstreams rotate-key`: the new provider key serves new requests at once, requests on the old key finish, then the
// old key leaves the vault record. Zero failed requests under a steady stream of SDK requests.

interface UpstreamJson {
  id: string;
  name: string;
  keys: Array<{ id: string; display: string }>;
}
interface RotationJson extends UpstreamJson {
  added_key_id: string | null;
  removed_key_ids: string[];
  in_flight_at_removal: number;
}

const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'hello' }] };
const freshKey = (): string => `sk-proj-${randomBytes(30).toString('base64url')}`;

let h: Harness;
let client: OpenAI;

/** The upstream as the admin API shows it. */
async function upstream(): Promise<UpstreamJson> {
  const list = await h.admin<{ data: UpstreamJson[] }>('GET', '/upstreams');
  const found = list.body.data.find((u) => u.name === 'fake');
  if (!found) throw new Error('no upstream "fake"');
  return found;
}

/**
 * Watches the gateway's key choices: every slot handed out is logged with whether the switch (the write that
 * marks the old key retiring, applied to the live registry) had already happened.
 */
function watchKeyChoices(): { picks: Array<{ keyId: string; afterSwitch: boolean }>; switchedAt: () => number } {
  const registry = h.server.gateway.upstreams;
  const picks: Array<{ keyId: string; afterSwitch: boolean }> = [];
  let switchedAt = 0;
  const apply = registry.applyKeys.bind(registry);
  registry.applyKeys = (record: UpstreamRecord): void => {
    apply(record);
    if (switchedAt === 0 && record.keys.some((k) => k.retiring === true)) switchedAt = Date.now();
  };
  const resolve = registry.resolve.bind(registry);
  const watched = new WeakSet<UpstreamRuntime>();
  registry.resolve = async (id: string | null): Promise<UpstreamRuntime> => {
    const runtime = await resolve(id);
    if (!watched.has(runtime)) {
      watched.add(runtime);
      const next = runtime.nextSlot.bind(runtime);
      runtime.nextSlot = (): KeySlot => {
        const slot = next();
        picks.push({ keyId: slot.id, afterSwitch: switchedAt !== 0 });
        return slot;
      };
    }
    return runtime;
  };
  return { picks, switchedAt: () => switchedAt };
}

beforeAll(async () => {
  h = await startHarness({ config: { upstream: { connections: 64 } } });
  client = h.client((await h.createKey({ name: 'steady' })).key, { timeout: 20_000 });
});
afterEach(() => h.fake.reset());
afterAll(() => h.close());

describe('rotate-key under load', () => {
  it('200 SDK requests (a third streaming slowly) across a rotation: 0 failures, old key drained, never used after the switch', async () => {
    const oldSecret = h.upstreamKey;
    const newSecret = freshKey();
    const oldKeyId = (await upstream()).keys[0]?.id ?? '';
    // The provider accepts both keys until the old one is revoked (below, right after the rotation returns).
    h.fake.configure({ apiKeys: [oldSecret, newSecret] });
    h.fake.setBehavior({ type: 'ok', chunkDelayMs: 30 });
    const { picks, switchedAt } = watchKeyChoices();

    // The moment the old key leaves the vault record: which old-key requests had not finished at the upstream then.
    const repo = h.server.services.store.upstreams;
    const replaceKeys = repo.replaceKeys.bind(repo);
    let unfinishedOldAtRemoval = -1;
    let oldRequestsAtRemoval = -1;
    let unfinishedOldAtSwitch = -1;
    repo.replaceKeys = async (id: string, keys: UpstreamKeyRecord[]): Promise<void> => {
      const old = h.fake.requests.filter((r) => r.presentedKey === oldSecret);
      if (keys.some((k) => k.retiring === true)) unfinishedOldAtSwitch = old.filter((r) => r.outcome !== 'completed').length;
      if (!keys.some((k) => k.id === oldKeyId)) {
        unfinishedOldAtRemoval = old.filter((r) => r.outcome !== 'completed').length;
        oldRequestsAtRemoval = old.length;
      }
      await replaceKeys(id, keys);
    };

    const TOTAL = 200;
    const load = startChatLoad(client, chat, { total: TOTAL, workers: 10 });

    // Rotate mid-stream, while slow streams hold the old key.
    await waitFor(() => load.succeeded >= 40 && h.fake.requests.some((r) => r.presentedKey === oldSecret && r.outcome === 'pending'), {
      timeoutMs: 15_000,
      what: 'old-key streams in flight',
    });
    const rotated = await h.admin<RotationJson>('POST', '/upstreams/fake/keys/rotate', { key: newSecret });
    h.fake.configure({ apiKeys: [newSecret] }); // revoked at the provider
    await load.done;

    expect(rotated.status).toBe(200);
    expect(load.failures).toEqual([]);
    expect(load.succeeded).toBe(TOTAL);
    expect(load.issued).toBeGreaterThan(load.succeeded - 1);
    // The drain mattered: requests on the old key were running at the switch, and all had finished at removal.
    expect(unfinishedOldAtSwitch).toBeGreaterThan(0);
    expect(unfinishedOldAtRemoval).toBe(0);
    expect(h.fake.requests.filter((r) => r.presentedKey === oldSecret)).toHaveLength(oldRequestsAtRemoval);
    expect(rotated.body.in_flight_at_removal).toBe(0);
    // Never chosen after the switch; the new key was, for every later request.
    expect(switchedAt()).toBeGreaterThan(0);
    expect(picks.filter((p) => p.afterSwitch && p.keyId === oldKeyId)).toEqual([]);
    expect(picks.filter((p) => p.afterSwitch).length).toBeGreaterThan(0);
    expect(picks.filter((p) => p.afterSwitch).every((p) => p.keyId === rotated.body.added_key_id)).toBe(true);
    expect(h.fake.requests.filter((r) => r.presentedKey === newSecret).length).toBeGreaterThan(0);
    expect(h.fake.requests.filter((r) => r.status === 401)).toEqual([]);
    // The record holds the new key only; neither secret is echoed or logged.
    expect(rotated.body.removed_key_ids).toEqual([oldKeyId]);
    expect(rotated.body.keys).toEqual([{ id: rotated.body.added_key_id, display: `…${newSecret.slice(-4)}` }]);
    expect((await upstream()).keys.map((k) => k.id)).toEqual([rotated.body.added_key_id]);
    const audit = JSON.stringify((await h.admin('GET', '/audit?limit=50')).body);
    for (const text of [JSON.stringify(rotated.body), h.logs(), audit]) {
      expect(text).not.toContain(newSecret);
      expect(text).not.toContain(oldSecret);
    }
    expect(audit).toContain('upstream.key_rotated');
    h.upstreamKey = newSecret;
  }, 60_000);
});

describe('add-key, remove-key and the refusals', () => {
  it('add-key spreads requests over both keys; remove-key drains and removes one, never the last', async () => {
    const current = await upstream();
    const extra = freshKey();
    h.fake.configure({ apiKeys: [h.upstreamKey, extra] });
    const added = await h.admin<UpstreamJson>('POST', '/upstreams/fake/keys', { key: extra });
    expect(added.status).toBe(201);
    expect(added.body.keys).toHaveLength(current.keys.length + 1);
    for (let i = 0; i < 4; i++) await client.chat.completions.create(chat);
    const used = new Set(h.fake.requests.map((r) => r.presentedKey));
    expect(used).toEqual(new Set([h.upstreamKey, extra]));

    const extraId = added.body.keys.at(-1)?.id ?? '';
    const removed = await h.admin<RotationJson>('DELETE', `/upstreams/fake/keys/${extraId}`);
    expect(removed.status).toBe(200);
    expect(removed.body.removed_key_ids).toEqual([extraId]);
    h.fake.reset();
    h.fake.configure({ apiKeys: [h.upstreamKey] });
    for (let i = 0; i < 3; i++) await client.chat.completions.create(chat);
    expect(h.fake.requests.every((r) => r.presentedKey === h.upstreamKey)).toBe(true);

    const last = (await upstream()).keys[0]?.id ?? '';
    const refused = await h.admin<{ error: { code: string } }>('DELETE', `/upstreams/fake/keys/${last}`);
    expect(refused.status).toBe(409);
    expect((await h.admin('DELETE', '/upstreams/fake/keys/uk_nope')).status).toBe(404);
    expect((await h.admin('POST', '/upstreams/fake/keys/rotate', { key: freshKey(), replace: ['uk_nope'] })).status).toBe(400);
    expect((await h.admin('POST', '/upstreams/fake/keys/rotate', { key: 'short' })).status).toBe(400);
    expect((await h.admin('POST', '/upstreams/fake/keys/rotate', { key: freshKey(), extra: 1 })).status).toBe(400);
    expect((await h.admin('POST', '/upstreams/nope/keys/rotate', { key: freshKey() })).status).toBe(404);
    expect((await upstream()).keys.map((k) => k.id)).toEqual([last]);
  });

  it('the CLI reads the new key from --key-env or stdin, never argv, and refuses two keys', async () => {
    const env = { KEYWARDEN_URL: h.server.url, KEYWARDEN_ADMIN_TOKEN: h.adminToken };
    const next = freshKey();
    h.fake.configure({ apiKeys: [h.upstreamKey, next] });
    const viaEnv = await cli(['upstreams', 'rotate-key', 'fake', '--key-env', 'NEW_KEY', '--json'], { ...env, NEW_KEY: next });
    expect(viaEnv.status, viaEnv.stderr).toBe(0);
    const body = JSON.parse(viaEnv.stdout) as RotationJson;
    expect(body.keys.map((k) => k.display)).toEqual([`…${next.slice(-4)}`]);
    expect(viaEnv.stdout + viaEnv.stderr).not.toContain(next);
    h.upstreamKey = next;
    h.fake.configure({ apiKeys: [next] });
    expect((await client.chat.completions.create(chat)).choices).toHaveLength(1);

    const two = await cli(['upstreams', 'rotate-key', 'fake'], env, { stdin: `${freshKey()}\n${freshKey()}\n` });
    expect(two.status).not.toBe(0);
    const tty = await cli(['upstreams', 'rotate-key', 'fake'], env);
    expect(tty.status).not.toBe(0);
    expect(tty.stderr).toContain('--key-env');
    const argv = await cli(['upstreams', 'rotate-key', 'fake', freshKey()], env);
    expect(argv.status).not.toBe(0);
    expect((await upstream()).keys.map((k) => k.display)).toEqual([`…${next.slice(-4)}`]);
  });
});
