import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import type * as ChildProcessModule from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FakeKeys } from '../../src/scanner/rules/fake-keys.js';
import { cli, tempDir, TestRepo, type CliRun } from './helpers.js';
import { startFakeForge, type FakeForge } from './remote-fake-forge.js';
import { compileSarifSchema } from './sarif-schema.js';

// Every process spawned during these tests is recorded, so a token in argv (visible in `ps`) cannot go unnoticed.
const spawned = vi.hoisted(() => [] as string[][]);
vi.mock('node:child_process', async (importOriginal) => {
  const actual = await importOriginal<typeof ChildProcessModule>();
  const spawn = ((command: string, args: readonly string[] = [], ...rest: unknown[]) => {
    spawned.push([command, ...args]);
    return (actual.spawn as (...all: unknown[]) => unknown)(command, args, ...rest);
  }) as typeof actual.spawn;
  return { ...actual, spawn, default: { ...actual, spawn } };
});

const exec = promisify(execFile);
const f = new FakeKeys(1313);
const oldKey = f.openaiProject();
const branchKey = f.anthropic();
const forkKey = f.groq();
const gistKey = f.mistral();
const forkedLibKey = f.huggingface();
const TOKEN = `kwtest_${randomBytes(16).toString('hex')}`;

interface Report {
  findings: Array<{ ruleId: string; path: string; line: number; secret: string; url?: string; repository?: string; commit?: { sha: string } }>;
}
const parse = (run: CliRun): Report => JSON.parse(run.stdout) as Report;

async function bare(work: TestRepo, target: string): Promise<void> {
  await exec('git', ['clone', '-q', '--bare', work.dir, target]);
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(path.join(entry.parentPath, entry.name));
  }
  return out;
}

describe('keywarden scan --github-org / --github-repo against a local GitHub', () => {
  let forge: FakeForge;
  let root: string;
  const sha: Record<string, string> = {};
  let resetAt = 0;

  beforeAll(async () => {
    root = await tempDir('forge');
    const repos = path.join(root, 'repos');
    forge = await startFakeForge(repos);
    forge.gitCredentials = `x-access-token:${TOKEN}`;
    const o = forge.origin;

    const app = await TestRepo.create();
    sha.init = await app.commit('init', { 'README.md': '# app\n' });
    sha.addKey = await app.commit('config', { 'config.py': `import os\n\nOPENAI_API_KEY = "${oldKey}"\n` });
    sha.removeKey = await app.commit('use env', { 'config.py': 'import os\nOPENAI_API_KEY = os.environ["OPENAI_API_KEY"]\n' });
    await app.git('checkout', '-q', '-b', 'feature/x');
    sha.branch = await app.commit('wip', { 'src/feature file.ts': `export const k = '${branchKey}';\n` });
    await app.git('checkout', '-q', 'main');
    await bare(app, path.join(repos, 'acme/app.git'));

    const fork = await TestRepo.create();
    await fork.git('pull', '-q', app.dir, 'main');
    sha.fork = await fork.commit('mine', { 'leak.env': `GROQ_API_KEY=${forkKey}\n` });
    await bare(fork, path.join(repos, 'mallory/app.git'));

    const tools = await TestRepo.create();
    await tools.commit('init', { 'tool.sh': 'echo hello\n' });
    await bare(tools, path.join(repos, 'acme/tools.git'));

    const lib = await TestRepo.create();
    sha.lib = await lib.commit('init', { 'hf.py': `HF_TOKEN = "${forkedLibKey}"\n` });
    await bare(lib, path.join(repos, 'acme/forked-lib.git'));

    const gist = await TestRepo.create();
    sha.gist = await gist.commit('gist', { 'deploy.sh': `#!/bin/sh\nexport MISTRAL_API_KEY=${gistKey}\n` });
    await bare(gist, path.join(repos, 'gists/abc123.git'));

    const repo = (fullName: string, fork: boolean, forks = 0) => ({
      full_name: fullName,
      clone_url: `${o}/git/${fullName}.git`,
      html_url: `https://github.com/${fullName}`,
      fork,
      forks_count: forks,
      pushed_at: '2024-01-01T00:00:10Z',
    });
    const base = '/api/v3';
    forge.routes.set(`${base}/orgs/acme/repos?type=all&per_page=100`, {
      headers: { link: `<${o}${base}/orgs/acme/repos?type=all&per_page=100&page=2>; rel="next", <${o}${base}/orgs/acme/repos?type=all&per_page=100&page=2>; rel="last"`, 'x-ratelimit-remaining': '4999' },
      body: [repo('acme/app', false, 1), repo('acme/tools', false)],
    });
    // Page 2 is first refused by the rate limit (GitHub's 403 with remaining 0) and must be waited out.
    let page2 = 0;
    forge.routes.set(`${base}/orgs/acme/repos?type=all&per_page=100&page=2`, (_req, res) => {
      if (page2++ === 0) {
        resetAt = Math.ceil(Date.now() / 1000) + 1;
        res.writeHead(403, { 'content-type': 'application/json', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(resetAt) });
        res.end('{"message":"API rate limit exceeded"}');
        return;
      }
      // acme/app again: a listing that shifted between pages must not fetch it twice.
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify([repo('acme/app', false, 1), repo('acme/forked-lib', true)]));
    });
    forge.routes.set(`${base}/repos/acme/app/forks?per_page=100`, { body: [repo('mallory/app', true)] });
    forge.routes.set(`${base}/orgs/acme/members?per_page=100`, { body: [{ login: 'alice' }] });
    forge.routes.set(`${base}/users/acme/gists?per_page=100`, { body: [] });
    forge.routes.set(`${base}/users/alice/gists?per_page=100`, {
      body: [{ id: 'abc123', git_pull_url: `${o}/git/gists/abc123.git`, html_url: 'https://gist.github.com/alice/abc123', updated_at: '2024-01-01T00:00:10Z' }],
    });
    forge.routes.set(`${base}/repos/acme/app`, { body: repo('acme/app', false, 1) });
    forge.routes.set(`${base}/repos/acme/tools`, { body: repo('acme/tools', false) });
  }, 60_000);

  afterAll(async () => {
    await forge.close();
  });

  const env = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, HOME: process.env.HOME, GITHUB_TOKEN: TOKEN });
  const api = (): string => `${forge.origin}/api/v3`;
  const infoRefs = (name: string): number => forge.requests.filter((r) => r.url.startsWith(`/git/${name}.git/info/refs`)).length;

  it('finds keys in old commits, other branches, org forks, forks of org repos and gists, each with a link to its line', async () => {
    const cache = await tempDir('cache');
    const sarifDir = await tempDir('sarif');
    const before = forge.requests.length;
    const spawnedBefore = spawned.length;
    const run = await cli(
      ['scan', '--github-org', 'acme', '--github-api', api(), '--include-forks', '--include-gists', '--cache-dir', cache, '--sarif-dir', sarifDir, '--format', 'json', '--show-secrets'],
      { cwd: root, env: env() },
    );
    expect(run.stderr).toContain('scanned 5 repositories');
    expect(run.status).toBe(1);
    const found = parse(run).findings.map((x) => [x.path, x.ruleId, x.line, x.secret, x.url]);
    expect(found).toEqual(
      expect.arrayContaining([
        ['acme/app/config.py', 'openai-project-key', 3, oldKey, `https://github.com/acme/app/blob/${sha.addKey}/config.py#L3`],
        ['acme/app/src/feature file.ts', 'anthropic-api-key', 1, branchKey, `https://github.com/acme/app/blob/${sha.branch}/src/feature%20file.ts#L1`],
        ['mallory/app/leak.env', 'groq-api-key', 1, forkKey, `https://github.com/mallory/app/blob/${sha.fork}/leak.env#L1`],
        ['mallory/app/config.py', 'openai-project-key', 3, oldKey, `https://github.com/mallory/app/blob/${sha.addKey}/config.py#L3`],
        ['acme/forked-lib/hf.py', 'huggingface-token', 1, forkedLibKey, `https://github.com/acme/forked-lib/blob/${sha.lib}/hf.py#L1`],
        ['gist/abc123/deploy.sh', 'mistral-api-key', 2, gistKey, `https://gist.github.com/alice/abc123/${sha.gist}#file-deploy-sh-L2`],
      ]),
    );
    expect(parse(run).findings.filter((x) => x.path.startsWith('acme/tools/'))).toEqual([]);

    // The rate-limited page was retried only after the advertised reset.
    const page2 = forge.requests.slice(before).filter((r) => r.url.endsWith('&page=2'));
    expect(page2).toHaveLength(2);
    expect(page2[1]?.at ?? 0).toBeGreaterThanOrEqual(resetAt * 1000 - 50);

    // acme/app was listed twice and fetched once.
    expect(infoRefs('acme/app')).toBe(1);

    // The API saw the token as a bearer header, git as a Basic header: never in a URL.
    const mine = forge.requests.slice(before);
    expect(mine.filter((r) => r.url.startsWith('/api/')).every((r) => r.headers.authorization === `Bearer ${TOKEN}`)).toBe(true);
    expect(mine.some((r) => r.url.startsWith('/git/') && r.headers.authorization !== undefined)).toBe(true);
    expect(mine.every((r) => !r.url.includes(TOKEN))).toBe(true);

    // The token appears nowhere: output, spawned argv, or any file of the cache (git configs included).
    const basic = Buffer.from(`x-access-token:${TOKEN}`).toString('base64');
    for (const text of [run.stdout, run.stderr]) {
      expect(text).not.toContain(TOKEN);
      expect(text).not.toContain(basic);
    }
    const argv = spawned.slice(spawnedBefore);
    expect(argv.some((args) => args.includes('clone'))).toBe(true);
    for (const args of argv) expect(args.join(' ')).not.toMatch(new RegExp(`${TOKEN}|${basic.replace(/[+/=]/g, '.')}`));
    const cached = await filesUnder(cache);
    expect(cached.some((file) => file.endsWith(`${path.sep}config`))).toBe(true);
    for (const file of cached) {
      const content = await readFile(file);
      expect(content.includes(TOKEN), file).toBe(false);
      expect(content.includes(basic), file).toBe(false);
    }
    const appConfig = cached.find((file) => file.includes('acme_app-') && file.endsWith(`${path.sep}config`)) ?? '';
    expect(await readFile(appConfig, 'utf8')).toContain(`url = ${forge.origin}/git/acme/app.git`);

    // One SARIF file per repository, valid, each result linking to its line.
    const validate = compileSarifSchema();
    const sarifFiles = (await readdir(sarifDir)).sort();
    expect(sarifFiles).toEqual(['127.0.0.1_acme_app.sarif', '127.0.0.1_acme_forked-lib.sarif', '127.0.0.1_acme_tools.sarif', '127.0.0.1_gist_abc123.sarif', '127.0.0.1_mallory_app.sarif']);
    const appSarif = JSON.parse(await readFile(path.join(sarifDir, '127.0.0.1_acme_app.sarif'), 'utf8')) as {
      runs: Array<{ results: Array<{ message: { text: string }; properties: { url: string }; locations: Array<{ physicalLocation: { artifactLocation: { uri: string } } }> }> }>;
    };
    expect(validate(appSarif), JSON.stringify(validate.errors)).toBe(true);
    const results = appSarif.runs[0]?.results ?? [];
    expect(results.map((r) => r.locations[0]?.physicalLocation.artifactLocation.uri).sort()).toEqual(['config.py', 'src/feature%20file.ts']);
    expect(results.map((r) => r.properties.url)).toContain(`https://github.com/acme/app/blob/${sha.addKey}/config.py#L3`);
    // SARIF files are written for sharing: secrets masked there even with --show-secrets on the console.
    expect(results.every((r) => !r.message.text.includes(oldKey) && !r.message.text.includes(branchKey))).toBe(true);
  }, 120_000);

  it('leaves forks and gists out unless asked, without even listing them', async () => {
    const before = forge.requests.length;
    const run = await cli(['scan', '--github-org', 'acme', '--github-api', api(), '--cache-dir', await tempDir('cache'), '--json'], { cwd: root, env: env() });
    expect(run.status).toBe(1);
    const paths = parse(run).findings.map((x) => x.path).sort();
    expect(paths).toEqual(['acme/app/config.py', 'acme/app/src/feature file.ts']);
    const urls = forge.requests.slice(before).map((r) => r.url);
    expect(urls.some((u) => u.includes('/forks') || u.includes('/members') || u.includes('/gists') || u.includes('forked-lib') || u.includes('mallory'))).toBe(false);
    // Masked by default in the combined report too.
    expect(run.stdout).not.toContain(oldKey);
  }, 120_000);

  it('exits 0 on a clean repository and fetches a repository named twice once; a second run reuses the cache', async () => {
    const cache = await tempDir('cache');
    const clean = await cli(['scan', '--github-repo', 'acme/tools', '--github-api', api(), '--cache-dir', cache], { cwd: root, env: env() });
    expect(clean.status).toBe(0);
    expect(clean.stdout).toContain('No AI keys found');

    const beforeRefs = infoRefs('acme/app');
    const twice = await cli(['scan', '--github-repo', 'acme/app', '--github-repo', 'acme/app', '--github-api', api(), '--cache-dir', cache, '--json'], { cwd: root, env: env() });
    expect(twice.status).toBe(1);
    expect(infoRefs('acme/app') - beforeRefs).toBe(1);
    expect(parse(twice).findings).toHaveLength(2);

    // Cached: the second run fetches (no new clone) and finds the same.
    const spawnedBefore = spawned.length;
    const again = await cli(['scan', '--github-repo', 'acme/app', '--github-api', api(), '--cache-dir', cache, '--json'], { cwd: root, env: env() });
    expect(again.status).toBe(1);
    expect(parse(again).findings.map((x) => x.url)).toEqual(parse(twice).findings.map((x) => x.url));
    const gitNetwork = spawned.slice(spawnedBefore).filter((args) => args[0] === 'git' && (args.includes('clone') || args.includes('fetch')));
    expect(gitNetwork.map((args) => (args.includes('clone') ? 'clone' : 'fetch'))).toEqual(['fetch']);

    // The text report names each file under its repository and prints the link under the finding.
    const text = await cli(['scan', '--github-repo', 'acme/app', '--github-api', api(), '--cache-dir', cache], { cwd: root, env: env() });
    expect(text.status).toBe(1);
    expect(text.stdout).toContain('acme/app/config.py');
    expect(text.stdout).toContain(`https://github.com/acme/app/blob/${sha.addKey}/config.py#L3`);
    expect(text.stdout).not.toContain(oldKey);
  }, 120_000);

  it('without the token git is refused and the run exits 2, naming the repository but no secret', async () => {
    const run = await cli(['scan', '--github-repo', 'acme/app', '--github-api', api(), '--cache-dir', await tempDir('cache')], {
      cwd: root,
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
    });
    expect(run.stderr).toContain('GITHUB_TOKEN is not set');
    expect(run.stderr).toContain('skipped acme/app');
    expect(run.status).toBe(2);
  }, 60_000);
});
