import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { cli } from './run-cli.js';

interface UpstreamJson {
  id: string;
  name: string;
  default: boolean;
  base_url: string;
}

let h: Harness;
let second: FakeOpenAI;
let secondKey: string;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  h = await startHarness(); // upstream "fake", the first and so the default
  secondKey = `sk-proj-${randomBytes(30).toString('base64url')}`;
  second = await startFakeOpenAI({ apiKeys: [secondKey] });
  env = { KEYWARDEN_URL: h.server.url, KEYWARDEN_ADMIN_TOKEN: h.adminToken, SECOND_KEY: secondKey };
});
afterAll(async () => {
  await h.close();
  await second.close();
});

const list = async (): Promise<UpstreamJson[]> => JSON.parse((await cli(['upstreams', 'list', '--json'], env)).stdout) as UpstreamJson[];
const chat = async (key: string): Promise<void> => {
  const completion = await h.client(key).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
  expect(completion.choices).toHaveLength(1);
};

describe('upstreams CLI catches mistakes', () => {
  it('add without --default keeps the default; remove is refused while bound, and --reassign-to moves keys', async () => {
    const { key, id } = await h.createKey({ name: 'app' });
    const added = await cli(['upstreams', 'add', '--name', 'second', '--provider', 'openai-compatible', '--base-url', second.url, '--key-env', 'SECOND_KEY'], env);
    expect(added.status).toBe(0);
    expect((await list()).map((u) => [u.name, u.default])).toEqual([['fake', true], ['second', false]]);
    await chat(key);
    expect(h.fake.requestCount).toBe(1);

    const refused = await cli(['upstreams', 'remove', 'fake'], env);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain(`app (${id})`);
    expect(refused.stderr).toContain('--reassign-to');
    expect((await list()).map((u) => u.name)).toEqual(['fake', 'second']);
    await chat(key);

    const unknownTarget = await cli(['upstreams', 'remove', 'fake', '--reassign-to', 'nowhere'], env);
    expect(unknownTarget.status).toBe(2);
    expect(unknownTarget.stderr).toContain('nowhere');

    const moved = await cli(['upstreams', 'remove', 'fake', '--reassign-to', 'second'], env);
    expect(moved.status).toBe(0);
    expect(moved.stdout).toContain('Removed upstream fake');
    expect(moved.stdout).toContain('now the default');
    expect((await list()).map((u) => [u.name, u.default])).toEqual([['second', true]]);
    await chat(key);
    expect(second.requestCount).toBe(1);
  });

  it('update by name: nothing to update and unknown upstreams are errors; --default and renames work', async () => {
    const nothing = await cli(['upstreams', 'update', 'second'], env);
    expect(nothing.status).toBe(2);
    expect(nothing.stderr).toContain('Nothing to update');
    const unknown = await cli(['upstreams', 'update', 'nope', '--name', 'x'], env);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('No upstream "nope"');
    const badDeployment = await cli(['upstreams', 'update', 'second', '--deployment', 'gpt-4o'], env);
    expect(badDeployment.status).toBe(2);
    const badName = await cli(['upstreams', 'update', 'second', '--name', 'has space'], env);
    expect(badName.status).toBe(2);

    const renamed = await cli(['upstreams', 'update', 'second', '--name', 'primary', '--default', '--json'], env);
    expect(renamed.status).toBe(0);
    expect(JSON.parse(renamed.stdout)).toMatchObject({ name: 'primary', default: true });
    const text = await cli(['upstreams', 'update', 'primary', '--base-url', `${second.url}/`], env);
    expect(text.status).toBe(0);
    expect(text.stdout).toContain('Updated upstream primary');
    expect((await list())[0]?.base_url).toBe(second.url);
    expect(text.stdout + renamed.stdout).not.toContain(secondKey);
  });
});
