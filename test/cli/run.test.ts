import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiErrorOf } from '../support/api-error.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { waitFor } from '../support/wait-for.js';
import { cli } from './run-cli.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The SDK as an absolute URL, so a script in a temp directory can import it without any configuration. */
const OPENAI_URL = pathToFileURL(createRequire(import.meta.url).resolve('openai')).href;

let h: Harness;
let env: NodeJS.ProcessEnv;
let dir: string;
let parent: { id: string; key: string };
beforeAll(async () => {
  h = await startHarness();
  env = { KEYWARDEN_URL: h.server.url, KEYWARDEN_ADMIN_TOKEN: h.adminToken, PATH: process.env.PATH };
  dir = await mkdtemp(path.join(tmpdir(), 'kw-run-'));
  parent = await h.createKey({ name: 'run-parent', models: ['gpt-4o-mini*'] });
});
afterAll(async () => {
  await h.close();
  await rm(dir, { recursive: true, force: true });
});

/** A script that uses the SDK with NO configuration: key and base URL come from the environment only. */
const SDK_SCRIPT = `
import OpenAI from ${JSON.stringify(OPENAI_URL)};
const client = new OpenAI({ maxRetries: 0 });
const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
console.log(JSON.stringify({
  ok: completion.choices.length > 0,
  key: process.env.OPENAI_API_KEY,
  baseUrl: process.env.OPENAI_BASE_URL,
  adminToken: process.env.KEYWARDEN_ADMIN_TOKEN ?? null,
}));
process.exitCode = 7;
`;

describe('keywarden run', () => {
  it('runs an unconfigured SDK script with a child key, exits with its status, then the key is refused', async () => {
    const script = path.join(dir, 'script.mjs');
    await writeFile(script, SDK_SCRIPT);
    const before = h.fake.requestCount;
    const run = await cli(['run', '--key', parent.id, '--ttl', '5m', '--', process.execPath, script], env);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(7);
    const out = JSON.parse(run.stdout.trim()) as { ok: boolean; key: string; baseUrl: string; adminToken: string | null };
    expect(out.ok).toBe(true);
    expect(out.baseUrl).toBe(`${h.server.url}/v1`);
    // The command gets a child key, never the parent's secret nor the admin token.
    expect(out.key).toMatch(/^kw_/);
    expect(out.key).not.toBe(parent.key);
    expect(out.adminToken).toBeNull();
    expect(h.fake.requestCount).toBe(before + 1);
    // After exit the child is revoked.
    const err = await apiErrorOf(h.client(out.key).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'again' }] }));
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(err.code).toBe('key_revoked');
    // It was a child of the parent, and the parent still works.
    const keys = await h.admin<{ data: Array<{ id: string; parent_id: string | null; status: string; display: string }> }>('GET', '/keys');
    const child = keys.body.data.find((k) => k.display === `kw_…${out.key.slice(-4)}` && k.parent_id === parent.id);
    expect(child?.status).toBe('revoked');
    await h.client(parent.key).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] });
  });

  it('a child asking for a model its parent lacks is refused at mint time and the command never runs', async () => {
    const marker = path.join(dir, 'ran-anyway');
    const run = await cli(['run', '--key', parent.id, '--models', 'gpt-4o', '--', process.execPath, '-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, 'x')`], env);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('gpt-4o');
    await expect(stat(marker)).rejects.toThrow();
  });

  it('needs a parent; a missing command exits 127 and still revokes the child', async () => {
    expect((await cli(['run', '--', process.execPath, '-e', '0'], env)).status).toBe(2);
    const missing = await cli(['run', '--key', parent.id, '--', path.join(dir, 'no-such-binary')], env);
    expect(missing.status).toBe(127);
    const keys = await h.admin<{ data: Array<{ parent_id: string | null; status: string }> }>('GET', '/keys');
    const children = keys.body.data.filter((k) => k.parent_id === parent.id);
    expect(children.length).toBeGreaterThan(0);
    expect(children.every((k) => k.status === 'revoked')).toBe(true);
  });

  it('forwards SIGTERM to the command and exits with its status (real process)', async () => {
    const script = path.join(dir, 'wait.mjs');
    const readyFile = path.join(dir, 'ready');
    await writeFile(
      script,
      `import { writeFileSync } from 'node:fs';
process.on('SIGTERM', () => { console.log('got SIGTERM'); process.exit(42); });
writeFileSync(${JSON.stringify(readyFile)}, 'ready');
setTimeout(() => process.exit(3), 20000);
`,
    );
    const proc = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/bin.ts'), 'run', '--key', parent.id, '--', process.execPath, script], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    proc.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    const exited = new Promise<number | null>((resolve) => proc.once('close', (code) => resolve(code)));
    await waitFor(async () => (await readFile(readyFile, 'utf8').catch(() => '')) === 'ready', { timeoutMs: 20_000, what: 'the command to start' });
    proc.kill('SIGTERM');
    expect(await exited).toBe(42);
    expect(stdout).toContain('got SIGTERM');
  }, 30_000);
});
