import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import OpenAI from 'openai';
import { afterAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI } from '../support/fake-openai.js';
import { waitFor } from '../support/wait-for.js';

const root = path.resolve(import.meta.dirname, '../..');
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
});

function startGateway(dataDir: string, adminToken: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src/cli/bin.ts'), 'serve', '--port', '0', '--data', dataDir], {
    cwd: root,
    env: { ...process.env, KEYWARDEN_ADMIN_TOKEN: adminToken, KEYWARDEN_LOG_LEVEL: 'warn', KEYWARDEN_OUTBOUND_ALLOW: '127.0.0.1', OPENAI_API_KEY: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (match?.[1]) resolve({ child, url: match[1] });
    });
    child.once('exit', (code) => reject(new Error(`gateway exited early with ${code}`)));
  });
}

describe('durability under kill -9', () => {
  it('loses no usage record for a response that finished 100 ms or more before the kill', async () => {
    const upstreamKey = `sk-proj-${randomBytes(30).toString('base64url')}`;
    const adminToken = `kwadm_${randomBytes(30).toString('base64url')}`;
    const fake = await startFakeOpenAI({ apiKeys: [upstreamKey], record: false });
    const dataDir = await mkdtemp(path.join(tmpdir(), 'kw-kill9-'));
    try {
      const { child, url } = await startGateway(dataDir, adminToken);
      const admin = (route: string, body: unknown): Promise<Response> =>
        fetch(`${url}/admin/v1${route}`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}` }, body: JSON.stringify(body) });
      expect((await admin('/upstreams', { name: 'fake', provider: 'openai-compatible', base_url: fake.url, keys: [upstreamKey] })).status).toBe(201);
      const { key } = (await (await admin('/keys', { name: 'load' })).json()) as { key: string };
      const client = new OpenAI({ apiKey: key, baseURL: `${url}/v1`, maxRetries: 0 });

      const finished: Array<{ id: string; at: number }> = [];
      let stop = false;
      const worker = async (): Promise<void> => {
        while (!stop) {
          try {
            const { response } = await client.chat.completions
              .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] })
              .withResponse();
            const id = response.headers.get('x-keywarden-request-id');
            if (id) finished.push({ id, at: performance.now() });
          } catch {
            return; // the gateway is gone
          }
        }
      };
      const workers = Array.from({ length: 16 }, () => worker());
      // Kill once enough requests finished at least 100 ms ago (the promise's horizon), however fast the machine is.
      await waitFor(() => finished.filter((f) => f.at <= performance.now() - 100).length > 150, { timeoutMs: 30_000, intervalMs: 20, what: '150 finished requests' });
      const killedAt = performance.now();
      child.kill('SIGKILL');
      stop = true;
      await Promise.all(workers);

      const mustSurvive = finished.filter((f) => f.at <= killedAt - 100);
      expect(mustSurvive.length).toBeGreaterThan(100);
      const db = new Database(path.join(dataDir, 'keywarden.sqlite'), { readonly: true });
      const stored = new Set(db.prepare<[], { id: string }>('SELECT id FROM usage').all().map((row) => row.id));
      db.close();
      const lost = mustSurvive.filter((f) => !stored.has(f.id));
      expect(lost).toEqual([]);
    } finally {
      await fake.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
