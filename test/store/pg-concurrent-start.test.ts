import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { Vault } from '../../src/vault/index.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { acquireTestPostgres, releaseTestPostgres } from '../support/postgres-server.js';

/** Three replicas started at the same moment on one empty database (one master key, as replicas share it). */
let replicas: Harness[] = [];
let secondUrl = '';

beforeAll(async () => {
  const pg = await acquireTestPostgres();
  const url = await pg.createDatabase();
  secondUrl = await pg.createDatabase();
  const env = { KEYWARDEN_MASTER_KEY: randomBytes(32).toString('hex') };
  replicas = await Promise.all([0, 1, 2].map((i) => startHarness({ config: { store: { url } }, env, withUpstream: i === 0 })));
}, 90_000);
afterAll(async () => {
  for (const h of replicas) await h.close();
  await releaseTestPostgres();
}, 30_000);

describe('replicas starting together on an empty PostgreSQL', () => {
  it('agree on one vault: a key minted on one replica works on every other, through the upstream key sealed by the first', async () => {
    const [a, b, c] = replicas as [Harness, Harness, Harness];
    const { key } = await b.createKey({ name: 'shared' });
    for (const h of [a, b, c]) {
      const reply = await h.client(key).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
      expect(reply.choices[0]?.message.content).toBeTruthy();
    }
    const verify = await c.admin<{ ok: boolean }>('GET', '/audit/verify');
    expect(verify.body.ok).toBe(true);
  });

  it('first-start duties run one replica at a time: eight vaults opened at once on an empty database share one data key', async () => {
    const env = { KEYWARDEN_MASTER_KEY: randomBytes(32).toString('hex') };
    const dir = await mkdtemp(path.join(tmpdir(), 'kw-vault-'));
    const stores = await Promise.all(Array.from({ length: 8 }, () => PostgresStore.open({ url: secondUrl })));
    try {
      const vaults = await Promise.all(stores.map((s) => s.exclusiveStartup(async () => (await Vault.open({ dataDir: dir, env, meta: s.meta })).vault)));
      const sealed = vaults[0]!.encrypt('sk-proj-secret', 'aad');
      for (const vault of vaults) {
        expect(vault.decrypt(sealed, 'aad')).toBe('sk-proj-secret');
        expect(vault.pepper.equals(vaults[0]!.pepper)).toBe(true);
      }
    } finally {
      await Promise.all(stores.map((s) => s.close()));
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
