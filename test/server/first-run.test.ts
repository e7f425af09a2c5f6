import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../cli/run-cli.js';
import { startFakeOpenAI } from '../support/fake-openai.js';
import { spawnServe } from './spawn-serve.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('first run and restarts', () => {
  it('creates a 0600 master key and prints a bootstrap admin token exactly once', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'kw-first-'));
    dirs.push(dataDir);
    const first = await spawnServe(['--data', dataDir], {});
    const token = /(kwadm_[0-9A-Za-z]+)/.exec(first.stdout())?.[1];
    expect(token).toBeDefined();
    expect(statSync(path.join(dataDir, 'master.key')).mode & 0o777).toBe(0o600);
    expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
    const listed = await fetch(`${first.url}/admin/v1/keys`, { headers: { authorization: `Bearer ${token}` } });
    expect(listed.status).toBe(200);
    expect(await first.stop()).toBe(0);
    expect(first.stderr()).not.toContain(token);

    const second = await spawnServe(['--data', dataDir], {});
    expect(second.stdout()).not.toMatch(/kwadm_/);
    expect((await fetch(`${second.url}/admin/v1/keys`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    await second.stop();
    for (const file of ['keywarden.sqlite', 'keywarden.sqlite-wal', 'master.key']) {
      try {
        expect(readFileSync(path.join(dataDir, file)).includes(Buffer.from(token as string))).toBe(false);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  });

  it('rotates the master key; vaulted upstream keys still work after a restart', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'kw-rotate-'));
    dirs.push(dataDir);
    const upstreamKey = `sk-proj-${randomBytes(30).toString('base64url')}`;
    const adminToken = `kwadm_${randomBytes(30).toString('base64url')}`;
    const fake = await startFakeOpenAI({ apiKeys: [upstreamKey] });
    try {
      const env = { KEYWARDEN_ADMIN_TOKEN: adminToken };
      const before = await spawnServe(['--data', dataDir], env);
      const cliEnv = { ...env, KEYWARDEN_URL: before.url, UPSTREAM: upstreamKey };
      expect((await cli(['upstreams', 'add', '--name', 'fake', '--provider', 'openai', '--base-url', fake.url, '--key-env', 'UPSTREAM'], cliEnv)).status).toBe(0);
      const { key } = JSON.parse((await cli(['keys', 'create', '--name', 'k', '--json'], cliEnv)).stdout) as { key: string };
      await before.stop();

      const oldMaster = readFileSync(path.join(dataDir, 'master.key'), 'utf8');
      const rotated = await cli(['vault', 'rotate-master', '--data', dataDir], {});
      expect(rotated.status).toBe(0);
      expect(rotated.stdout).toMatch(/fingerprint [0-9a-f]{16}/);
      expect(readFileSync(path.join(dataDir, 'master.key'), 'utf8')).not.toBe(oldMaster);

      const after = await spawnServe(['--data', dataDir], env);
      const client = new OpenAI({ apiKey: key, baseURL: `${after.url}/v1`, maxRetries: 0 });
      const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
      expect(completion.choices).toHaveLength(1);
      await after.stop();

      // The old master key no longer opens the vault.
      const refused = await spawnServe(['--data', dataDir], { ...env, KEYWARDEN_MASTER_KEY: oldMaster.trim() }).then(
        (p) => p.stop().then(() => 'started'),
        (e: unknown) => String(e),
      );
      expect(refused).toContain('does not match');
    } finally {
      await fake.close();
    }
  });
});
