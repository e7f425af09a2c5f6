import { describe, expect, it } from 'vitest';
import { openDatabase } from './database.js';
import { SqliteStore } from './sqlite-store.js';

function memoryStore(): SqliteStore {
  return new SqliteStore(openDatabase(':memory:'));
}

describe('owned objects repository', () => {
  it('looks objects up by kind and id, and lists them by owner, newest first', async () => {
    const store = memoryStore();
    await store.objects.insert({ kind: 'file', id: 'file-1', ownerKeyId: 'key_a', upstreamId: 'up_1', createdAt: 1 });
    await store.objects.insert({ kind: 'file', id: 'file-2', ownerKeyId: 'key_a', upstreamId: 'up_1', createdAt: 2 });
    await store.objects.insert({ kind: 'response', id: 'resp_1', ownerKeyId: 'key_a', upstreamId: null, createdAt: 3 });
    await store.objects.insert({ kind: 'file', id: 'file-3', ownerKeyId: 'key_b', upstreamId: 'up_1', createdAt: 4 });
    expect(await store.objects.get('file', 'file-2')).toEqual({ kind: 'file', id: 'file-2', ownerKeyId: 'key_a', upstreamId: 'up_1', createdAt: 2 });
    // The kind is part of the identity: the same id under another kind is a different (unknown) object.
    expect(await store.objects.get('batch', 'file-2')).toBeNull();
    expect(await store.objects.get('file', 'FILE-2')).toBeNull();
    expect((await store.objects.listByOwner('key_a')).map((r) => r.id)).toEqual(['resp_1', 'file-2', 'file-1']);
    expect((await store.objects.listByOwner('key_a', 'file')).map((r) => r.id)).toEqual(['file-2', 'file-1']);
    expect((await store.objects.listByOwner('key_a', 'file', 1)).map((r) => r.id)).toEqual(['file-2']);
    expect((await store.objects.listByOwner('key_b')).map((r) => r.id)).toEqual(['file-3']);
    await store.close();
  });

  it('keeps the first owner when the same id is recorded again (replay or a hostile upstream)', async () => {
    const store = memoryStore();
    await store.objects.insert({ kind: 'file', id: 'file-x', ownerKeyId: 'key_a', upstreamId: null, createdAt: 1 });
    await store.objects.insert({ kind: 'file', id: 'file-x', ownerKeyId: 'key_b', upstreamId: null, createdAt: 2 });
    expect((await store.objects.get('file', 'file-x'))?.ownerKeyId).toBe('key_a');
    expect(await store.objects.listByOwner('key_b')).toEqual([]);
    await store.close();
  });
});
