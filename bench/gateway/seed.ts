// Fills a stopped gateway's store with canary keys and child keys (issue 12: the hot path must not notice 10,000
// of each), through the measured build's own Store (dist/store), in one transaction. Creating them through the
// admin API took minutes (each creation is an audited, fsync'ed write); these keys are never presented, so their
// hashes are random rather than derived from a secret under the vault's pepper. The gateway is then restarted on
// the same data directory, so it starts with them in its store as a real deployment would.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Store, VirtualKeyRecord } from '../../src/store/index.js';

export interface SeedCounts {
  canaryKeys: number;
  childKeys: number;
}

interface StoreModule {
  SqliteStore: {
    open(dataDir: string): Store & { db: { transaction<T>(fn: () => T): () => T }; close(): Promise<void> };
  };
}

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');

function seededKey(template: VirtualKeyRecord, now: number, fields: Partial<VirtualKeyRecord>): VirtualKeyRecord {
  const secretTail = hex(2);
  return {
    ...template,
    id: `key_${hex(8)}`,
    hash: hex(32),
    last4: secretTail,
    previousHash: null,
    previousHashExpiresAt: null,
    metadata: {},
    createdAt: now,
    updatedAt: now,
    revokedAt: null,
    suspendedAt: null,
    suspendedReason: null,
    rotatedAt: null,
    ...fields,
  };
}

/**
 * Writes `canaryKeys` canary keys and `childKeys` children of `parentId` (an existing key) into the store of the
 * stopped gateway at `dataDir`. Returns the time taken.
 */
export async function seedStore(dist: string, dataDir: string, parentId: string, counts: SeedCounts): Promise<{ ms: number }> {
  const started = Date.now();
  const { SqliteStore } = (await import(pathToFileURL(path.join(dist, 'store/index.js')).href)) as StoreModule;
  const store = SqliteStore.open(dataDir);
  try {
    const parent = await store.keys.get(parentId);
    if (parent === null) throw new Error(`seed: parent key ${parentId} is not in the store`);
    const now = Date.now();
    const records: VirtualKeyRecord[] = [];
    for (let i = 0; i < counts.canaryKeys; i++) {
      records.push(seededKey(parent, now, { name: `bench canary ${i}`, canary: true, limits: {}, expiresAt: null, parentId: null }));
    }
    for (let i = 0; i < counts.childKeys; i++) {
      records.push(seededKey(parent, now, { name: `bench child ${i}`, parentId, expiresAt: now + 24 * 3_600_000 }));
    }
    // The repository's insert is synchronous underneath; one transaction makes 20,000 of them one commit.
    store.db.transaction(() => {
      for (const record of records) void store.keys.insert(record);
    })();
    const keys = await store.keys.list();
    const canaries = keys.filter((k) => k.canary === true).length;
    const children = keys.filter((k) => k.parentId === parentId).length;
    if (canaries < counts.canaryKeys || children < counts.childKeys) {
      throw new Error(`seed: the store holds ${canaries} canary and ${children} child keys after seeding`);
    }
  } finally {
    await store.close();
  }
  return { ms: Date.now() - started };
}
