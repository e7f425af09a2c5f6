import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiErrorOf } from '../support/api-error.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { cli } from './run-cli.js';

let h: Harness;
let dir: string;
beforeAll(async () => {
  h = await startHarness();
  dir = await mkdtemp(path.join(tmpdir(), 'kw-leak-'));
});
afterAll(async () => {
  await h.close();
  await rm(dir, { recursive: true, force: true });
});

describe('keywarden scan --revoke-leaked', () => {
  it('finds a leaked virtual key, reports it to the gateway and the key stops working', async () => {
    const { id, key } = await h.createKey({ name: 'leaked-in-repo' });
    await writeFile(path.join(dir, 'config.js'), `export const OPENAI_API_KEY = "${key}";\n`);
    const env = { KEYWARDEN_URL: h.server.url, KEYWARDEN_ADMIN_TOKEN: h.adminToken, CI: 'true' };
    const run = await cli(['scan', dir, '--revoke-leaked', '--format', 'json'], env);
    expect(run.status).toBe(1);
    expect(run.stdout).not.toContain(key);
    expect(run.stderr).toContain('1 revoked');
    const err = await apiErrorOf(h.client(key).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }));
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(err.code).toBe('key_revoked');
    const audit = await h.admin<{ data: Array<{ action: string; target: string; after: { source?: string } }> }>('GET', '/audit?limit=5000');
    const report = audit.body.data.find((e) => e.action === 'security.leak_reported' && e.target === `key:${id}`);
    expect(report?.after.source).toContain('config.js:1');
  });
});
