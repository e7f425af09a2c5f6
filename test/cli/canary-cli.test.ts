import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanText } from '../../src/scanner/engine/engine.js';
import { apiErrorOf } from '../support/api-error.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { cli } from './run-cli.js';

let h: Harness;
let env: NodeJS.ProcessEnv;
let dir: string;
beforeAll(async () => {
  h = await startHarness();
  env = { KEYWARDEN_URL: `${h.server.url}/v1/`, KEYWARDEN_ADMIN_TOKEN: h.adminToken };
  dir = await mkdtemp(path.join(tmpdir(), 'kw-canary-'));
});
afterAll(async () => {
  await h.close();
  await rm(dir, { recursive: true, force: true });
});

const envValue = (text: string, name: string): string | undefined => new RegExp(`^${name}=(.*)$`, 'm').exec(text)?.[1];

describe('canary keys from the CLI', () => {
  it('keys create --canary issues a kw_ key that admins see flagged', async () => {
    const created = await cli(['keys', 'create', '--canary', '--name', 'staging .env', '--json'], env);
    expect(created.status).toBe(0);
    const body = JSON.parse(created.stdout) as { id: string; key: string; canary: boolean };
    expect(body.canary).toBe(true);
    expect(body.key).toMatch(/^kw_[0-9A-Za-z]{38}$/);
    const listed = await cli(['keys', 'list'], env);
    expect(listed.stdout).toContain('staging .env (canary)');
    expect(listed.stdout).not.toContain(body.key);
  });

  it('keys canary-file writes a realistic 0600 .env whose key trips the canary, and never overwrites', async () => {
    const out = path.join(dir, '.env');
    const written = await cli(['keys', 'canary-file', '--out', out, '--name', 'ci secrets'], env);
    expect(written.status).toBe(0);
    const text = await readFile(out, 'utf8');
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    const key = envValue(text, 'OPENAI_API_KEY') ?? '';
    expect(key).toMatch(/^kw_[0-9A-Za-z]{38}$/);
    expect(written.stdout).not.toContain(key);
    expect(envValue(text, 'OPENAI_BASE_URL')).toBe(`${h.server.url}/v1`);
    expect(envValue(text, 'DATABASE_URL')).toMatch(/CHANGE_ME@localhost/);
    // The scanner finds it, as an attacker's would.
    expect(scanText(text).some((f) => f.secret === key)).toBe(true);
    // Used as a thief would (base URL from the file): refused as out of quota, nothing forwarded.
    const before = h.fake.requestCount;
    const err = await apiErrorOf(
      new OpenAI({ apiKey: key, baseURL: envValue(text, 'OPENAI_BASE_URL'), maxRetries: 0 }).chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'hi' }],
      }),
    );
    expect(err.code).toBe('insufficient_quota');
    expect(h.fake.requestCount).toBe(before);

    // An existing file (a real .env) is never replaced by a trap.
    const real = path.join(dir, 'real.env');
    await writeFile(real, 'OPENAI_API_KEY=the-real-one\n');
    const refused = await cli(['keys', 'canary-file', '--out', real], env);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('already exists');
    expect(await readFile(real, 'utf8')).toBe('OPENAI_API_KEY=the-real-one\n');
  });

  it('prints to stdout without --out, and rejects a non-http base URL', async () => {
    const printed = await cli(['keys', 'canary-file', '--base-url', 'https://gw.example.com/v1'], env);
    expect(printed.status).toBe(0);
    expect(envValue(printed.stdout, 'OPENAI_BASE_URL')).toBe('https://gw.example.com/v1');
    expect(envValue(printed.stdout, 'OPENAI_API_KEY')).toMatch(/^kw_/);
    const bad = await cli(['keys', 'canary-file', '--base-url', 'javascript:alert(1)'], env);
    expect(bad.status).toBe(2);
  });
});
