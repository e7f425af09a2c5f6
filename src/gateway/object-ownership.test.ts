import { describe, expect, it } from 'vitest';
import { silentLogger } from '../log/logger.js';
import { defaultScopes } from '../policy/index.js';
import { SqliteStore } from '../store/index.js';
import type { ObjectRepository, VirtualKeyRecord } from '../store/index.js';
import { openDatabase } from '../store/sqlite/database.js';
import { ObjectOwnership } from './object-ownership.js';

function keyRecord(id: string, objectsFrom?: string[]): VirtualKeyRecord {
  return {
    id, name: id, hash: `h-${id}`, last4: 'abcd', previousHash: null, previousHashExpiresAt: null, upstreamId: null,
    fallbackUpstreamIds: [],
    scopes: { ...defaultScopes(), endpoints: ['*'], ...(objectsFrom ? { objectsFrom } : {}) }, limits: {}, metadata: {},
    createdAt: 1, updatedAt: 1, expiresAt: null, revokedAt: null, suspendedAt: null, suspendedReason: null, rotatedAt: null,
  };
}

/** Counts every repository call, to prove the ordinary request path makes none. */
function countingRepo(inner: ObjectRepository): { repo: ObjectRepository; calls: () => number } {
  let calls = 0;
  return {
    calls: () => calls,
    repo: {
      insert: (r) => (calls++, inner.insert(r)),
      get: (kind, id) => (calls++, inner.get(kind, id)),
      listByOwner: (owner, kind, limit) => (calls++, inner.listByOwner(owner, kind, limit)),
    },
  };
}

const A = keyRecord('key_a');
const B = keyRecord('key_b');
const body = (value: unknown): { json: Record<string, unknown>; raw: Buffer } => {
  const raw = Buffer.from(JSON.stringify(value));
  return { json: JSON.parse(raw.toString()) as Record<string, unknown>, raw };
};

async function readAs(ownership: ObjectOwnership, key: VirtualKeyRecord, path: string): Promise<string> {
  const check = ownership.inspect('GET', path, null, Buffer.alloc(0));
  if (check === null) throw new Error('expected an object route');
  return ownership.guard(check, { json: null, search: '', key, upstreamId: 'up', now: 1 }).then(
    () => 'allowed',
    (err: { apiCode?: string }) => err.apiCode ?? 'error',
  );
}

async function createAs(ownership: ObjectOwnership, key: VirtualKeyRecord, path: string, answer: unknown): Promise<void> {
  const check = ownership.inspect('POST', path, {}, Buffer.from('{}'));
  if (check === null) throw new Error('expected a creation');
  const plan = await ownership.guard(check, { json: {}, search: '', key, upstreamId: 'up', now: 1 });
  plan?.transformJson?.(answer);
}

describe('object ownership stage', () => {
  it('makes no store call and no check for an ordinary chat request', () => {
    const store = new SqliteStore(openDatabase(':memory:'));
    const counted = countingRepo(store.objects);
    const ownership = new ObjectOwnership(counted.repo, silentLogger);
    for (const value of [
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] },
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }], store: false, stream: true },
    ]) {
      const { json, raw } = body(value);
      expect(ownership.inspect('POST', '/v1/chat/completions', json, raw)).toBeNull();
    }
    expect(ownership.inspect('POST', '/v1/embeddings', { model: 'x', input: 'y' }, Buffer.from('{"model":"x","input":"y"}'))).toBeNull();
    expect(counted.calls()).toBe(0);
  });

  it('a re-issued id (hostile upstream) never changes hands, even after a restart emptied the cache', async () => {
    const store = new SqliteStore(openDatabase(':memory:'));
    const first = new ObjectOwnership(store.objects, silentLogger);
    await createAs(first, A, '/v1/files', { id: 'file-x', object: 'file' });
    await first.flush();
    // Same process: B's "creation" of the same id is ignored at once.
    await createAs(first, B, '/v1/files', { id: 'file-x', object: 'file' });
    expect(await readAs(first, B, '/v1/files/file-x')).toBe('not_found');
    // A new process (empty cache): the stored owner wins once the write settles.
    const second = new ObjectOwnership(store.objects, silentLogger);
    await createAs(second, B, '/v1/files', { id: 'file-x', object: 'file' });
    await second.flush();
    expect(await readAs(second, B, '/v1/files/file-x')).toBe('not_found');
    expect(await readAs(second, A, '/v1/files/file-x')).toBe('allowed');
    expect((await store.objects.get('file', 'file-x'))?.ownerKeyId).toBe('key_a');
  });

  it('objects on another upstream are unknown to a key on this one, and objects_from is not transitive', async () => {
    const store = new SqliteStore(openDatabase(':memory:'));
    await store.objects.insert({ kind: 'file', id: 'file-far', ownerKeyId: 'key_a', upstreamId: 'other', createdAt: 1 });
    await store.objects.insert({ kind: 'file', id: 'file-b', ownerKeyId: 'key_b', upstreamId: 'up', createdAt: 1 });
    const ownership = new ObjectOwnership(store.objects, silentLogger);
    expect(await readAs(ownership, A, '/v1/files/file-far')).toBe('not_found');
    const c = keyRecord('key_c', ['key_a']);
    const bFromC = keyRecord('key_b', ['key_c']);
    expect(await readAs(ownership, c, '/v1/files/file-b')).toBe('not_found');
    await store.objects.insert({ kind: 'file', id: 'file-a', ownerKeyId: 'key_a', upstreamId: 'up', createdAt: 1 });
    expect(await readAs(ownership, c, '/v1/files/file-a')).toBe('allowed');
    expect(await readAs(ownership, bFromC, '/v1/files/file-a')).toBe('not_found');
  });

  it('records the model of a job read by a key that may read it as the job owner\'s, not the reader\'s', async () => {
    const store = new SqliteStore(openDatabase(':memory:'));
    await store.objects.insert({ kind: 'fine_tuning_job', id: 'ftjob-1', ownerKeyId: 'key_a', upstreamId: 'up', createdAt: 1 });
    const ownership = new ObjectOwnership(store.objects, silentLogger);
    const reader = keyRecord('key_r', ['key_a']);
    const check = ownership.inspect('GET', '/v1/fine_tuning/jobs/ftjob-1', null, Buffer.alloc(0));
    const plan = await ownership.guard(check ?? { route: null, references: [] }, { json: null, search: '', key: reader, upstreamId: 'up', now: 2 });
    plan?.transformJson?.({ id: 'ftjob-1', fine_tuned_model: 'ft:gpt-4o:org::x', result_files: ['file-r'] });
    await ownership.flush();
    expect((await store.objects.get('model', 'ft:gpt-4o:org::x'))?.ownerKeyId).toBe('key_a');
    expect((await store.objects.get('file', 'file-r'))?.ownerKeyId).toBe('key_a');
  });

  it('keeps a ChatKit thread list to the user named, whatever an upstream that ignores the filter adds', async () => {
    const store = new SqliteStore(openDatabase(':memory:'));
    await store.objects.insert({ kind: 'chatkit_user', id: 'alice', ownerKeyId: 'key_a', upstreamId: 'up', createdAt: 1 });
    await store.objects.insert({ kind: 'chatkit_user', id: 'bob', ownerKeyId: 'key_b', upstreamId: 'up', createdAt: 1 });
    const ownership = new ObjectOwnership(store.objects, silentLogger);
    const check = ownership.inspect('GET', '/v1/chatkit/threads', null, Buffer.alloc(0));
    const plan = await ownership.guard(check ?? { route: null, references: [] }, { json: null, search: '?user=alice', key: A, upstreamId: 'up', now: 2 });
    const page = plan?.transformJson?.({
      object: 'list',
      data: [{ id: 'cthr_bob', user: 'bob' }, { id: 'cthr_alice', user: 'alice' }, { id: 'cthr_none' }],
      first_id: 'cthr_bob',
      last_id: 'cthr_none',
      has_more: false,
    }) as { data: Array<{ id: string }>; first_id: string };
    expect(page.data.map((t) => t.id)).toEqual(['cthr_alice']);
    expect(page.first_id).toBe('cthr_alice');
    await ownership.flush();
    // The thread kept is recorded for its user's owner; the other user's thread is recorded for no one.
    expect((await store.objects.get('chatkit_thread', 'cthr_alice'))?.ownerKeyId).toBe('key_a');
    expect(await store.objects.get('chatkit_thread', 'cthr_bob')).toBeNull();
    expect(await readAs(ownership, A, '/v1/chatkit/threads/cthr_alice')).toBe('allowed');
    expect(await readAs(ownership, B, '/v1/chatkit/threads/cthr_alice')).toBe('not_found');
  });
});
