import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { setImmediate as nextTurn } from 'node:timers/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { VirtualKeyRecord } from '../types.js';
import { openDatabase } from './database.js';
import { SqliteStore } from './sqlite-store.js';
import { transactionRunnerFor } from './sqlite-transaction.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function key(id: string, hash: string): VirtualKeyRecord {
  return {
    id,
    name: id,
    hash,
    last4: 'abcd',
    previousHash: null,
    previousHashExpiresAt: null,
    upstreamId: null,
    fallbackUpstreamIds: [],
    scopes: { models: ['*'] } as VirtualKeyRecord['scopes'],
    limits: {},
    metadata: {},
    createdAt: 1,
    updatedAt: 1,
    expiresAt: null,
    revokedAt: null,
    suspendedAt: null,
    suspendedReason: null,
    rotatedAt: null,
  };
}

/** findByHash remembers answers between changes of the keys table; every change must show on the next lookup. */
describe('SQLite key lookups by hash', () => {
  it('sees an update through the repository at once (a revocation applies to the very next request)', async () => {
    const store = new SqliteStore(openDatabase(':memory:'));
    await store.keys.insert(key('key_a', 'h_a'));
    expect((await store.keys.findByHash('h_a'))?.revokedAt).toBeNull();
    await store.keys.update('key_a', { revokedAt: 5 }, 5);
    expect((await store.keys.findByHash('h_a'))?.revokedAt).toBe(5);
    await store.close();
  });

  it('sees a change committed by another connection (another process) from the next event-loop turn on', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kw-keyrepo-'));
    dirs.push(dir);
    const file = path.join(dir, 'db.sqlite');
    const store = new SqliteStore(openDatabase(file));
    await store.keys.insert(key('key_b', 'h_b'));
    expect((await store.keys.findByHash('h_b'))?.suspendedAt).toBeNull();
    const other = openDatabase(file);
    other.prepare('UPDATE virtual_keys SET suspended_at = 7, updated_at = updated_at + 1 WHERE id = ?').run('key_b');
    other.close();
    await nextTurn(); // a request read after the commit is handled in a later turn than the commit
    expect((await store.keys.findByHash('h_b'))?.suspendedAt).toBe(7);
    await store.close();
  });

  it('keeps its memory across writes to other tables on the same connection (usage flushes), probed by a raw edit it cannot see', async () => {
    const db = openDatabase(':memory:');
    const store = new SqliteStore(db);
    await store.keys.insert(key('key_c', 'h_c'));
    expect((await store.keys.findByHash('h_c'))?.name).toBe('key_c');
    // Only the repository writes virtual_keys in the product; this raw edit stands for any other write on the
    // connection. The lookup still answers from memory: usage writes no longer drop it.
    db.prepare("UPDATE virtual_keys SET name = 'edited' WHERE id = 'key_c'").run();
    expect((await store.keys.findByHash('h_c'))?.name).toBe('key_c');
    // A write through the repository drops it.
    await store.keys.update('key_c', { suspendedReason: 'x' }, 9);
    expect((await store.keys.findByHash('h_c'))?.name).toBe('edited');
    await store.close();
  });

  it('never remembers what it read inside a transaction that then rolled back', async () => {
    const db = openDatabase(':memory:');
    const store = new SqliteStore(db);
    await store.keys.insert(key('key_d', 'h_d'));
    await store.keys.findByHash('h_d');
    const runner = transactionRunnerFor(db);
    await expect(
      runner.run(async () => {
        await store.keys.update('key_d', { revokedAt: 11 }, 11);
        await store.keys.insert(key('key_e', 'h_e'));
        expect((await store.keys.findByHash('h_d'))?.revokedAt).toBe(11);
        expect(await store.keys.findByHash('h_e')).not.toBeNull();
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect((await store.keys.findByHash('h_d'))?.revokedAt).toBeNull();
    expect(await store.keys.findByHash('h_e')).toBeNull();
    await store.close();
  });

  it('lets the key lookup see a revocation committed by another connection on the first lookup of the next turn, 200 times in a row', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kw-keyrepo-'));
    dirs.push(dir);
    const file = path.join(dir, 'db.sqlite');
    const db = openDatabase(file);
    const store = new SqliteStore(db);
    const other = openDatabase(file);
    try {
      await store.keys.insert(key('key_p', 'h_p'));
      const flip = other.prepare('UPDATE virtual_keys SET revoked_at = ?, updated_at = updated_at + 1 WHERE id = ?');
      // A commit on the store's own connection that does not touch the keys table, as a usage flush is.
      const usageLike = db.prepare("INSERT INTO meta (name, value) VALUES ('probe', ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value");
      let stale = 0;
      for (let i = 0; i < 200; i++) {
        const revokedAt = i % 2 === 0 ? 1000 + i : null;
        flip.run(revokedAt, 'key_p');
        await nextTurn();
        if (store.keys.findByHashNow('h_p')?.revokedAt !== revokedAt) stale++;
        usageLike.run(String(i));
        if (store.keys.findByHashNow('h_p')?.revokedAt !== revokedAt) stale++;
      }
      expect(stale).toBe(0);
    } finally {
      other.close();
      await store.close();
    }
  });
});
