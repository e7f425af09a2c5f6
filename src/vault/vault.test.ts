import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../store/index.js';
import { MASTER_KEY_FILE } from './master-key.js';
import { Vault } from './vault.js';

const stores: SqliteStore[] = [];
async function freshDir(): Promise<{ dir: string; store: SqliteStore }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'kw-vault-'));
  const store = SqliteStore.open(dir);
  stores.push(store);
  return { dir, store };
}

afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
});

const SECRET = `sk-proj-${randomBytes(30).toString('base64url')}`;

describe('vault', () => {
  it('creates a 0600 master key file on first open and round-trips secrets', async () => {
    const { dir, store } = await freshDir();
    const { vault, createdMasterKeyFile } = await Vault.open({ dataDir: dir, env: {}, meta: store.meta });
    expect(createdMasterKeyFile).toBe(true);
    expect(statSync(path.join(dir, MASTER_KEY_FILE)).mode & 0o777).toBe(0o600);
    const sealed = vault.encrypt(SECRET, 'upstream:u1');
    expect(sealed).not.toContain(SECRET);
    expect(vault.decrypt(sealed, 'upstream:u1')).toBe(SECRET);

    const again = await Vault.open({ dataDir: dir, env: {}, meta: store.meta });
    expect(again.createdMasterKeyFile).toBe(false);
    expect(again.vault.decrypt(sealed, 'upstream:u1')).toBe(SECRET);
    expect(again.vault.pepper.equals(vault.pepper)).toBe(true);
  });

  it('binds ciphertexts to their context and detects tampering', async () => {
    const { dir, store } = await freshDir();
    const { vault } = await Vault.open({ dataDir: dir, env: {}, meta: store.meta });
    const sealed = vault.encrypt(SECRET, 'upstream:u1');
    expect(() => vault.decrypt(sealed, 'upstream:u2')).toThrow(/could not be decrypted/);
    const parts = sealed.split('.');
    const body = Buffer.from(parts[2] as string, 'base64url');
    body[0] = (body[0] as number) ^ 1;
    parts[2] = body.toString('base64url');
    expect(() => vault.decrypt(parts.join('.'), 'upstream:u1')).toThrow(/could not be decrypted/);
  });

  it('uses KEYWARDEN_MASTER_KEY instead of a file, and refuses a wrong one', async () => {
    const { dir, store } = await freshDir();
    const env = { KEYWARDEN_MASTER_KEY: randomBytes(32).toString('hex') };
    const { vault, createdMasterKeyFile } = await Vault.open({ dataDir: dir, env, meta: store.meta });
    expect(createdMasterKeyFile).toBe(false);
    expect(existsSync(path.join(dir, MASTER_KEY_FILE))).toBe(false);
    const sealed = vault.encrypt(SECRET, 'a');
    await expect(
      Vault.open({ dataDir: dir, env: { KEYWARDEN_MASTER_KEY: randomBytes(32).toString('base64') }, meta: store.meta }),
    ).rejects.toThrow(/does not match/);
    await expect(Vault.open({ dataDir: dir, env: { KEYWARDEN_MASTER_KEY: 'short' }, meta: store.meta })).rejects.toThrow(
      /32 bytes/,
    );
    expect((await Vault.open({ dataDir: dir, env, meta: store.meta })).vault.decrypt(sealed, 'a')).toBe(SECRET);
  });

  it('rotates the master key by re-wrapping the data key; old ciphertexts still open, old master does not', async () => {
    const { dir, store } = await freshDir();
    const { vault } = await Vault.open({ dataDir: dir, env: {}, meta: store.meta });
    const sealed = vault.encrypt(SECRET, 'a');
    const oldKeyText = readFileSync(path.join(dir, MASTER_KEY_FILE), 'utf8');
    await Vault.rotateMaster({ dataDir: dir, env: {}, meta: store.meta });
    const newKeyText = readFileSync(path.join(dir, MASTER_KEY_FILE), 'utf8');
    expect(newKeyText).not.toBe(oldKeyText);
    expect(statSync(path.join(dir, MASTER_KEY_FILE)).mode & 0o777).toBe(0o600);
    const reopened = await Vault.open({ dataDir: dir, env: {}, meta: store.meta });
    expect(reopened.vault.decrypt(sealed, 'a')).toBe(SECRET);
    expect(reopened.vault.pepper.equals(vault.pepper)).toBe(true);
    await expect(
      Vault.open({ dataDir: dir, env: { KEYWARDEN_MASTER_KEY: oldKeyText }, meta: store.meta }),
    ).rejects.toThrow(/does not match/);
  });

  it('finishes a rotation interrupted after the data key was re-wrapped', async () => {
    const { dir, store } = await freshDir();
    const { vault } = await Vault.open({ dataDir: dir, env: {}, meta: store.meta });
    const sealed = vault.encrypt(SECRET, 'a');
    const next = randomBytes(32);
    // Simulate: new key written to master.key.next and data key re-wrapped, but the rename never happened.
    await Vault.rotateMaster({ dataDir: dir, env: { KEYWARDEN_MASTER_KEY: '' }, meta: store.meta, newMasterKey: next });
    await writeFile(path.join(dir, 'master.key.next'), `${next.toString('base64')}\n`, { mode: 0o600 });
    await writeFile(path.join(dir, MASTER_KEY_FILE), `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    const reopened = await Vault.open({ dataDir: dir, env: {}, meta: store.meta });
    expect(reopened.vault.decrypt(sealed, 'a')).toBe(SECRET);
    expect(readdirSync(dir)).not.toContain('master.key.next');
  });

  it('refuses to silently create a new master key for an existing vault', async () => {
    const { dir, store } = await freshDir();
    await Vault.open({ dataDir: dir, env: {}, meta: store.meta });
    const { rm } = await import('node:fs/promises');
    await rm(path.join(dir, MASTER_KEY_FILE));
    await expect(Vault.open({ dataDir: dir, env: {}, meta: store.meta })).rejects.toThrow(/master key is missing/);
  });
});
