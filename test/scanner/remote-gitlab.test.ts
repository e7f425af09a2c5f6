import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeKeys } from '../../src/scanner/rules/fake-keys.js';
import { cli, tempDir, TestRepo, type CliRun } from './helpers.js';
import { startFakeForge, type FakeForge } from './remote-fake-forge.js';

const exec = promisify(execFile);
const f = new FakeKeys(2626);
const oldKey = f.openaiProject();
const branchKey = f.xai();
const forkKey = f.deepseek();
const recentKey = f.anthropic();
const TOKEN = `glpat-${randomBytes(12).toString('hex')}`;

interface Report {
  findings: Array<{ ruleId: string; path: string; line: number; secret: string; url?: string }>;
}
const parse = (run: CliRun): Report => JSON.parse(run.stdout) as Report;

describe('keywarden scan --gitlab-group against a local GitLab', () => {
  let forge: FakeForge;
  let root: string;
  const sha: Record<string, string> = {};
  let retryAfterAt = 0;

  beforeAll(async () => {
    root = await tempDir('gitlab');
    const repos = path.join(root, 'repos');
    forge = await startFakeForge(repos);
    forge.gitCredentials = `oauth2:${TOKEN}`;
    const o = forge.origin;

    // Commit clock: 2024-01-01T00:00:01Z, :02, ... (TestRepo).
    const svc = await TestRepo.create();
    sha.addKey = await svc.commit('add', { 'settings.yaml': `openai:\n  key: ${oldKey}\n` });
    sha.removeKey = await svc.commit('remove', { 'settings.yaml': 'openai:\n  key: ${OPENAI_API_KEY}\n' });
    await svc.git('checkout', '-q', '-b', 'release');
    sha.branch = await svc.commit('release', { 'ops/xai.env': `XAI_API_KEY=${branchKey}\n` });
    await svc.git('checkout', '-q', 'main');
    sha.recent = await svc.commit('recent', { 'app/client.py': `client = Anthropic(api_key="${recentKey}")\n` });
    sha.later = await svc.commit('later', { 'README.md': '# svc\n' });
    await exec('git', ['clone', '-q', '--bare', svc.dir, path.join(repos, 'acme/platform/svc.git')]);

    const fork = await TestRepo.create();
    await fork.git('pull', '-q', svc.dir, 'main');
    sha.fork = await fork.commit('fork work', { 'deepseek.txt': `DEEPSEEK_API_KEY=${forkKey}\n` });
    await exec('git', ['clone', '-q', '--bare', fork.dir, path.join(repos, 'eve/svc.git')]);

    const project = (id: number, name: string, forkedFrom: boolean, forks = 0) => ({
      id,
      path_with_namespace: name,
      http_url_to_repo: `${o}/git/${name}.git`,
      web_url: `https://gitlab.com/${name}`,
      forks_count: forks,
      last_activity_at: '2024-01-01T00:00:10Z',
      ...(forkedFrom ? { forked_from_project: { id: 7 } } : {}),
    });
    const base = '/api/v4';
    const list = `${base}/groups/acme%2Fplatform/projects?include_subgroups=true&per_page=100`;
    // GitLab paginates with x-next-page (no Link here); page 2 first answers 429 with retry-after.
    forge.routes.set(list, { headers: { 'x-next-page': '2', 'x-total-pages': '2' }, body: [project(7, 'acme/platform/svc', false, 1)] });
    let page2 = 0;
    forge.routes.set(`${list}&page=2`, (_req, res) => {
      if (page2++ === 0) {
        retryAfterAt = Date.now() + 1000;
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' }).end('{"message":"429 Too Many Requests"}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'x-next-page': '' }).end(JSON.stringify([project(9, 'eve/svc', true)]));
    });
    forge.routes.set(`${base}/projects/7/forks?per_page=100`, { body: [project(9, 'eve/svc', true)] });
  }, 60_000);

  afterAll(async () => {
    await forge.close();
  });

  const env = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, HOME: process.env.HOME, KW_GL: TOKEN });
  const args = (...extra: string[]): string[] => ['scan', '--gitlab-group', 'acme/platform', '--gitlab-api', `${forge.origin}/api/v4`, '--token-env', 'KW_GL', ...extra];

  it('lists through x-next-page after waiting out a 429, scans every ref and the fork, and links GitLab-style', async () => {
    const before = forge.requests.length;
    const run = await cli(args('--include-forks', '--cache-dir', await tempDir('cache'), '--json', '--show-secrets'), { cwd: root, env: env() });
    expect(run.status).toBe(1);
    const found = parse(run).findings.map((x) => [x.path, x.line, x.secret, x.url]);
    expect(found).toEqual(
      expect.arrayContaining([
        ['acme/platform/svc/settings.yaml', 2, oldKey, `https://gitlab.com/acme/platform/svc/-/blob/${sha.addKey}/settings.yaml#L2`],
        ['acme/platform/svc/ops/xai.env', 1, branchKey, `https://gitlab.com/acme/platform/svc/-/blob/${sha.branch}/ops/xai.env#L1`],
        ['acme/platform/svc/app/client.py', 1, recentKey, `https://gitlab.com/acme/platform/svc/-/blob/${sha.recent}/app/client.py#L1`],
        ['eve/svc/deepseek.txt', 1, forkKey, `https://gitlab.com/eve/svc/-/blob/${sha.fork}/deepseek.txt#L1`],
      ]),
    );
    const mine = forge.requests.slice(before);
    const page2 = mine.filter((r) => r.url.endsWith('&page=2'));
    expect(page2).toHaveLength(2);
    expect(page2[1]?.at ?? 0).toBeGreaterThanOrEqual(retryAfterAt - 50);
    // eve/svc came from the group listing and from the forks listing: fetched once.
    expect(mine.filter((r) => r.url.startsWith('/git/eve/svc.git/info/refs'))).toHaveLength(1);
    expect(mine.filter((r) => r.url.startsWith('/api/')).every((r) => r.headers['private-token'] === TOKEN && r.headers.authorization === undefined)).toBe(true);
    expect(run.stdout + run.stderr).not.toContain(TOKEN);
  }, 120_000);

  it('--since DATE fetches only the history since then (shallow) and skips forks unless asked', async () => {
    const run = await cli(args('--since', '2024-01-01T00:00:04Z', '--cache-dir', await tempDir('cache'), '--json', '--show-secrets'), { cwd: root, env: env() });
    expect(run.status).toBe(1);
    const secrets = parse(run).findings.map((x) => x.secret);
    // The later key is found; the fork is not listed. (The release branch has no commit since the date: git's
    // --shallow-since then sends that ref with its history, so the old key is not asserted either way here.)
    expect(secrets).toContain(recentKey);
    expect(secrets).not.toContain(forkKey);
  }, 120_000);

  it('--since fetches every branch with commits since then, without the history before it', async () => {
    const run = await cli(args('--since', '2024-01-01T00:00:03Z', '--cache-dir', await tempDir('cache'), '--json', '--show-secrets'), { cwd: root, env: env() });
    expect(run.status).toBe(1);
    const secrets = parse(run).findings.map((x) => x.secret);
    expect(secrets).toEqual(expect.arrayContaining([recentKey, branchKey]));
    expect(secrets).not.toContain(oldKey);
  }, 120_000);

  it('--no-history fetches only the tip of every ref: current keys on every branch, none from removed history', async () => {
    const run = await cli(args('--no-history', '--cache-dir', await tempDir('cache'), '--json', '--show-secrets'), { cwd: root, env: env() });
    expect(run.status).toBe(1);
    const secrets = parse(run).findings.map((x) => x.secret);
    expect(secrets).toEqual(expect.arrayContaining([recentKey, branchKey]));
    expect(secrets).not.toContain(oldKey);
    const both = await cli(args('--no-history', '--since', '2024-01-01'), { cwd: root, env: env() });
    expect(both.status).toBe(2);
    expect(both.stderr).toContain('Choose one of --since and --no-history');
  }, 120_000);

  it('rejects a --since that is not a date and a group path that climbs out, with exit 2', async () => {
    const bad = await cli(args('--since', 'HEAD~3'), { cwd: root, env: env() });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--since takes a date');
    const climb = await cli(['scan', '--gitlab-group', 'acme/../../admin', '--gitlab-api', `${forge.origin}/api/v4`], { cwd: root, env: env() });
    expect(climb.status).toBe(2);
    expect(climb.stderr).toContain('--gitlab-group takes a group path');
  });
});
