// `keywarden projects …`, `keys … --project`, `tokens create --project` and `usage --group-by project`, run
// in-process against a real server; the gateway side is exercised with the official SDK.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { cli } from './run-cli.js';

interface ProjectJson {
  id: string;
  name: string;
  models: string[];
  limits: Record<string, unknown>;
  budgets?: Array<{ period: string; limit_usd: number; spent_usd: number }>;
}

let h: Harness;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  h = await startHarness();
  env = { KEYWARDEN_URL: h.server.url, KEYWARDEN_ADMIN_TOKEN: h.adminToken };
});
afterAll(() => h.close());

async function json<T>(args: string[], tokenEnv: NodeJS.ProcessEnv = env): Promise<T> {
  const run = await cli([...args, '--json'], tokenEnv);
  expect(run.stderr, args.join(' ')).toBe('');
  expect(run.status, args.join(' ')).toBe(0);
  return JSON.parse(run.stdout) as T;
}

describe('keywarden projects', () => {
  it('creates, shows, updates, lists and removes a project; keys join it by name', async () => {
    const created = await json<ProjectJson>(['projects', 'create', '--name', 'web', '--models', 'gpt-4o-mini', '--rpm', '2', '--budget', '5/day']);
    expect(created).toMatchObject({ name: 'web', models: ['gpt-4o-mini'], limits: { rpm: 2, budgets: [{ usd: 5, period: 'day' }] } });

    const key = await json<{ id: string; key: string; project_id: string }>(['keys', 'create', '--name', 'web-1', '--project', 'web']);
    expect(key.project_id).toBe(created.id);
    const other = await json<{ id: string; key: string }>(['keys', 'create', '--name', 'loose']);

    // The project's limits bind the key: rpm 2 across the project, and its model allowlist.
    const sdk = new OpenAI({ apiKey: key.key, baseURL: `${h.server.url}/v1`, maxRetries: 0 });
    const ask = (model: string) => sdk.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 });
    await expect(ask('gpt-4o')).rejects.toMatchObject({ status: 403, code: 'model_not_allowed' });
    await ask('gpt-4o-mini');
    await ask('gpt-4o-mini');
    await expect(ask('gpt-4o-mini')).rejects.toMatchObject({ status: 429, code: 'rate_limit_exceeded' });

    // Limits merge over the current ones; the change applies on the next request.
    const updated = await json<ProjectJson>(['projects', 'update', 'web', '--rpm', '100']);
    expect(updated.limits).toMatchObject({ rpm: 100, budgets: [{ usd: 5, period: 'day' }] });
    await ask('gpt-4o-mini');

    const shown = await json<ProjectJson>(['projects', 'show', created.id]);
    expect(shown.budgets?.[0]?.spent_usd).toBeGreaterThan(0);
    const text = await cli(['projects', 'show', 'web'], env);
    expect(text.stdout).toMatch(/budget\/day\s+\$/);

    const list = await cli(['projects', 'list'], env);
    expect(list.status).toBe(0);
    expect(list.stdout).toContain('web');
    expect(list.stdout).toContain('rpm=100');

    // keys list shows and filters by project.
    const keysText = await cli(['keys', 'list'], env);
    expect(keysText.stdout.split('\n')[0]).toMatch(/^PROJECT\s+ID/);
    expect(keysText.stdout).toMatch(/web\s+key_/);
    const onlyWeb = await json<Array<{ id: string }>>(['keys', 'list', '--project', 'web']);
    expect(onlyWeb.map((k) => k.id)).toEqual([key.id]);
    const none = await json<Array<{ id: string }>>(['keys', 'list', '--project', 'none']);
    expect(none.map((k) => k.id)).toContain(other.id);
    expect(none.map((k) => k.id)).not.toContain(key.id);
    expect((await cli(['keys', 'list', '--project', 'nope'], env)).status).toBe(2);

    // Usage by project.
    await h.server.gateway.usage.flush();
    const usage = await json<Array<{ projectId: string | null; projectName: string | null; requests: number }>>(['usage', '--group-by', 'project']);
    expect(usage.find((r) => r.projectId === created.id)).toMatchObject({ projectName: 'web', requests: 5 });
    const usageText = await cli(['usage', '--group-by', 'project,model'], env);
    expect(usageText.stdout).toContain(`web (${created.id})`);
    expect((await cli(['usage', '--group-by', 'team'], env)).status).toBe(2);

    // Removal is refused while the key belongs; moving it out allows it.
    const refused = await cli(['projects', 'remove', 'web'], env);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain(key.id);
    const moved = await json<{ project_id: string | null }>(['keys', 'update', key.id, '--project', 'none']);
    expect(moved.project_id).toBeNull();
    expect((await cli(['projects', 'remove', 'web'], env)).status).toBe(0);
    expect((await cli(['projects', 'show', 'web'], env)).status).toBe(2);
  });

  it('refuses bad input with exit 2 and creates nothing', async () => {
    const before = (await h.admin<{ data: unknown[] }>('GET', '/projects')).body.data.length;
    for (const args of [
      ['projects', 'create', '--name', 'x', '--rpm', '0'],
      ['projects', 'create', '--name', 'x', '--budget', 'lots'],
      ['projects', 'create', '--name', 'prj_x'],
      ['projects', 'create', '--name', 'x', '--time-zone', 'Mars/Base'],
      ['keys', 'create', '--name', 'x', '--project', 'no-such-project'],
    ]) {
      const run = await cli(args, env);
      expect(run.status, args.join(' ')).toBe(2);
      expect(run.stderr.length).toBeGreaterThan(0);
    }
    expect((await h.admin<{ data: unknown[] }>('GET', '/projects')).body.data.length).toBe(before);
    await json(['projects', 'create', '--name', 'dup']);
    expect((await cli(['projects', 'create', '--name', 'dup'], env)).status).toBe(2);
  });

  it('issues a project-limited admin token that sees only its project', async () => {
    const team = await json<ProjectJson>(['projects', 'create', '--name', 'team-a']);
    await json(['projects', 'create', '--name', 'team-b']);
    const mine = await json<{ id: string }>(['keys', 'create', '--name', 'a-1', '--project', 'team-a']);
    const theirs = await json<{ id: string }>(['keys', 'create', '--name', 'b-1', '--project', 'team-b']);
    const token = await json<{ token: string; project_id: string }>(['tokens', 'create', '--name', 'lead-a', '--role', 'admin', '--project', 'team-a']);
    expect(token.project_id).toBe(team.id);
    const tokens = await cli(['tokens', 'list'], env);
    expect(tokens.stdout).toContain(team.id);
    const limited = { ...env, KEYWARDEN_ADMIN_TOKEN: token.token };
    const keys = await json<Array<{ id: string }>>(['keys', 'list'], limited);
    expect(keys.map((k) => k.id)).toEqual([mine.id]);
    expect((await cli(['keys', 'show', theirs.id], limited)).status).toBe(2);
    expect((await cli(['keys', 'revoke', 'b-1'], limited)).status).toBe(2);
    expect((await cli(['keys', 'create', '--name', 'sneaky', '--project', 'team-b'], limited)).status).toBe(2);
    const made = await json<{ project_id: string }>(['keys', 'create', '--name', 'a-2'], limited);
    expect(made.project_id).toBe(team.id);
    expect((await cli(['upstreams', 'list'], limited)).status).toBe(2);
    const projects = await json<Array<{ id: string }>>(['projects', 'list'], limited);
    expect(projects.map((p) => p.id)).toEqual([team.id]);
    // The other project's key is untouched.
    expect((await h.admin<{ status: string }>('GET', `/keys/${theirs.id}`)).body.status).toBe('active');
  });
});
