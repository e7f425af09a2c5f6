import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { leakKeyBehavior } from '../support/fake-openai.js';
import { startHarness } from '../support/gateway-harness.js';
import { containsSecret, filesUnder } from '../support/secret-files.js';


describe('secrets never reach responses, logs or data files', () => {
  it('keeps upstream keys, virtual keys and admin tokens out of every output', async () => {
    const h = await startHarness({ fake: { keyEcho: 'full' } });
    const responses: string[] = [];
    const secrets: string[] = [h.upstreamKey, h.adminToken];
    try {
      const { id, key } = await h.createKey({ name: 'secret-check' });
      secrets.push(key);
      const client = h.client(key);
      const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
      responses.push(JSON.stringify(completion));
      const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true });
      for await (const chunk of stream) responses.push(JSON.stringify(chunk));

      h.fake.setBehavior(leakKeyBehavior(401));
      const leaked = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
      expect(leaked).toBeInstanceOf(OpenAI.APIError);
      responses.push(JSON.stringify((leaked as InstanceType<typeof OpenAI.APIError>).error), (leaked as Error).message);
      h.fake.setBehavior(leakKeyBehavior(500));
      const leaked500 = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
      responses.push((leaked500 as Error).message);
      h.fake.reset();

      const rotated = await h.admin<{ key: string }>('POST', `/keys/${id}/rotate`, { grace: '1h' });
      secrets.push(rotated.body.key);
      responses.push(JSON.stringify((await h.admin('GET', '/keys')).body), JSON.stringify((await h.admin('GET', '/upstreams')).body));
      // Bad admin tokens and bad keys are not echoed either.
      const wrongToken = `kwadm_${randomBytes(20).toString('hex')}`;
      const denied = await fetch(`${h.server.url}/admin/v1/keys`, { headers: { authorization: `Bearer ${wrongToken}` } });
      const deniedText = await denied.text();
      expect(deniedText).not.toContain(wrongToken);
      const badKey = `kw_${'A'.repeat(38)}`;
      const badKeyText = await (await fetch(`${h.server.url}/v1/models`, { headers: { authorization: `Bearer ${badKey}` } })).text();
      expect(badKeyText).not.toContain(badKey);

      for (const text of responses) {
        expect(text).not.toContain(h.upstreamKey);
        expect(text).not.toContain(h.adminToken);
      }
      await h.server.gateway.usage.flush();
    } finally {
      await h.server.close();
    }
    // After shutdown every byte the gateway wrote is on disk: database, WAL, key files.
    const files = filesUnder(h.dataDir);
    expect(files.some((f) => f.endsWith('keywarden.sqlite'))).toBe(true);
    for (const file of files) {
      const bytes = readFileSync(file);
      for (const secret of secrets) expect(containsSecret(bytes, secret), `${path.basename(file)} holds a secret`).toBe(false);
    }
    const logs = h.logs();
    expect(logs.length).toBeGreaterThan(0);
    for (const secret of secrets) expect(logs).not.toContain(secret);
    await h.fake.close();
  });

  it('imports OPENAI_API_KEY on first start into the vault, masked in every message', async () => {
    const openaiKey = `sk-proj-${randomBytes(30).toString('base64url')}`;
    const h = await startHarness({ withUpstream: false, env: { OPENAI_API_KEY: openaiKey } });
    try {
      expect(h.server.notice.importedOpenAIKey).toBe(`sk-proj-…${openaiKey.slice(-4)}`);
      const { body } = await h.admin<{ data: Array<{ name: string; default: boolean; base_url: string }> }>('GET', '/upstreams');
      expect(body.data).toMatchObject([{ name: 'openai', default: true, base_url: 'https://api.openai.com/v1' }]);
      expect(JSON.stringify(body)).not.toContain(openaiKey);
    } finally {
      await h.server.close();
      await h.fake.close();
    }
    for (const file of filesUnder(h.dataDir)) expect(containsSecret(readFileSync(file), openaiKey)).toBe(false);
    expect(h.logs()).not.toContain(openaiKey);
  });
});
