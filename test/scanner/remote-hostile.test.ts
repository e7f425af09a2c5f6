import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, apiPolicy } from '../../src/scanner/remote/api-client.js';
import { cli, tempDir, TestRepo } from './helpers.js';
import { startFakeForge, type FakeForge } from './remote-fake-forge.js';

const exec = promisify(execFile);
const TOKEN = `kwtest_${randomBytes(16).toString('hex')}`;

/** A second server that must never be contacted: it records whoever reaches it. */
async function startTrap(): Promise<{ origin: string; hits: http.IncomingHttpHeaders[]; close: () => Promise<void> }> {
  const hits: http.IncomingHttpHeaders[] = [];
  const server = http.createServer((req, res) => {
    hits.push(req.headers);
    res.writeHead(200, { 'content-type': 'application/json' }).end('[]');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    hits,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('remote scan against a hostile API', () => {
  let forge: FakeForge;
  let trap: Awaited<ReturnType<typeof startTrap>>;
  let root: string;

  beforeAll(async () => {
    root = await tempDir('hostile');
    forge = await startFakeForge(path.join(root, 'repos'));
    trap = await startTrap();
    const work = await TestRepo.create();
    await work.commit('init', { 'a.txt': 'nothing\n' });
    await exec('git', ['clone', '-q', '--bare', work.dir, path.join(root, 'repos', 'acme', 'ok.git')]);
  }, 60_000);

  afterAll(async () => {
    await forge.close();
    await trap.close();
  });

  const env = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, HOME: process.env.HOME, GITHUB_TOKEN: TOKEN });
  const scanOrg = (org: string, ...extra: string[]) =>
    cli(['scan', '--github-org', org, '--github-api', `${forge.origin}/api/v3`, '--cache-dir', path.join(root, 'cache'), ...extra], { cwd: root, env: env() });
  const repo = (name: string, cloneUrl: string) => ({ full_name: name, clone_url: cloneUrl, html_url: `https://github.com/${name}`, fork: false });

  it('does not follow a Link to another origin: the token stays with the API', async () => {
    forge.routes.set('/api/v3/orgs/linky/repos?type=all&per_page=100', {
      headers: { link: `<${trap.origin}/api/v3/orgs/linky/repos?page=2>; rel="next"` },
      body: [repo('acme/ok', `${forge.origin}/git/acme/ok.git`)],
    });
    const run = await scanOrg('linky');
    expect(run.status).toBe(0);
    expect(trap.hits).toHaveLength(0);
  }, 60_000);

  it('does not follow a redirect (which would carry the token elsewhere) and exits 2', async () => {
    forge.routes.set('/api/v3/orgs/redir/repos?type=all&per_page=100', { status: 302, headers: { location: `${trap.origin}/steal` }, body: {} });
    const run = await scanOrg('redir');
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('redirect');
    expect(trap.hits).toHaveLength(0);
  });

  it('refuses clone URLs off the API host or on other transports, and runs no git for them', async () => {
    const pwned = path.join(root, 'pwned');
    forge.routes.set('/api/v3/orgs/evil/repos?type=all&per_page=100', {
      body: [
        repo('evil/file', `file://${path.join(root, 'repos', 'acme', 'ok.git')}`),
        repo('evil/ext', `ext::sh -c touch% ${pwned}`),
        repo('evil/other-port', `${trap.origin}/git/acme/ok.git`),
        repo('evil/metadata', 'http://169.254.169.254/latest/meta-data.git'),
        repo('evil/userinfo', `http://user:pw@127.0.0.1:${forge.port}/git/acme/ok.git`),
        repo('evil/option', '--upload-pack=touch /tmp/x'),
      ],
    });
    const run = await scanOrg('evil');
    expect(run.status).toBe(2);
    for (const name of ['file', 'ext', 'other-port', 'metadata', 'userinfo', 'option']) expect(run.stderr).toContain(`skipped evil/${name}: clone URL of evil/${name} refused`);
    expect(run.stderr).toContain('scanned 0 repositories, 6 could not be scanned');
    expect(existsSync(pwned)).toBe(false);
    expect(trap.hits).toHaveLength(0);
    expect(run.stderr).not.toContain('pw@');
  });

  it('answers a 401, non-JSON, a non-list and entries of the wrong shape with exit 2 and a clear message, never the token', async () => {
    forge.routes.set('/api/v3/orgs/denied/repos?type=all&per_page=100', { status: 401, body: { message: `Bad credentials ${TOKEN}` } });
    forge.routes.set('/api/v3/orgs/garbage/repos?type=all&per_page=100', { body: '<html>not json' });
    forge.routes.set('/api/v3/orgs/notlist/repos?type=all&per_page=100', { body: { repos: [] } });
    forge.routes.set('/api/v3/orgs/shape/repos?type=all&per_page=100', { body: [{ full_name: 42, clone_url: [] }] });
    const expectations: Array<[string, string]> = [
      ['denied', 'refused the token (401)'],
      ['garbage', 'not JSON'],
      ['notlist', 'not a list'],
      ['shape', 'unexpected shape'],
    ];
    for (const [org, message] of expectations) {
      const run = await scanOrg(org);
      expect(run.status, org).toBe(2);
      expect(run.stderr).toContain(message);
      expect(run.stdout + run.stderr).not.toContain(TOKEN);
      expect(run.stderr).not.toMatch(/\bat .*\.ts:\d+/);
    }
  });

  it('rejects a token carrying a line break (header injection) before any request', async () => {
    const before = forge.requests.length;
    const run = await cli(['scan', '--github-org', 'acme', '--github-api', `${forge.origin}/api/v3`], { cwd: root, env: { ...env(), GITHUB_TOKEN: 'abc\r\nX-Evil: 1' } });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('control character');
    expect(forge.requests.length).toBe(before);
  });

  it('usage errors exit 2: remote-only flags alone, remote with local sources, bad names and sizes', async () => {
    const cases: Array<[string[], string]> = [
      [['scan', '--include-forks'], '--include-forks applies only with'],
      [['scan', '--sarif-dir', 'x', '.'], '--sarif-dir applies only with'],
      [['scan', '--no-history', '--git'], '--no-history applies only with'],
      [['scan', '--github-org', 'acme', '--git'], 'cannot be combined'],
      [['scan', '--github-org', 'acme', 'src'], 'cannot be combined'],
      [['scan', '--github-org', '../acme'], '--github-org takes an organisation login'],
      [['scan', '--github-repo', 'acme'], '--github-repo takes OWNER/NAME'],
      [['scan', '--github-repo', 'acme/..'], '--github-repo takes OWNER/NAME'],
      [['scan', '--gitlab-group', 'g', '--include-gists'], '--include-gists applies to GitHub'],
      [['scan', '--github-org', 'acme', '--cache-max-size', 'lots'], '--cache-max-size takes a size'],
      [['scan', '--github-org', 'acme', '--token-env', 'A=B'], '--token-env takes an environment variable name'],
      [['scan', '--github-org', 'acme', '--github-api', 'ftp://example.com'], '--github-api must be http or https'],
      [['scan', '--github-org', 'acme', '--github-api', 'https://u:p@api.example.com'], 'credentials'],
    ];
    for (const [argv, message] of cases) {
      // Never the real api.github.com: remote cases get the local fake unless they test the flag itself.
      const remote = argv.some((arg) => arg.startsWith('--github-'));
      const full = remote && !argv.includes('--github-api') ? [...argv, '--github-api', `${forge.origin}/api/v3`] : argv;
      const run = await cli(full, { cwd: root, env: env() });
      expect(run.status, argv.join(' ')).toBe(2);
      expect(run.stderr, argv.join(' ')).toContain(message);
    }
  });
});

describe('ApiClient bounds', () => {
  let server: http.Server;
  let origin = '';
  let hits = 0;
  const handlers = new Map<string, (req: http.IncomingMessage, res: http.ServerResponse) => void>();

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      hits++;
      const handler = handlers.get(req.url ?? '');
      if (handler === undefined) res.writeHead(404).end();
      else handler(req, res);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  const client = (options: Partial<ConstructorParameters<typeof ApiClient>[0]> = {}): ApiClient => {
    const { policy } = apiPolicy(`${origin}/api`, true, '--github-api');
    return new ApiClient({ baseUrl: `${origin}/api`, authHeaders: { authorization: `Bearer ${TOKEN}` }, ...options }, policy);
  };

  it('a loopback API is refused unless the user named it', () => {
    expect(() => apiPolicy(`${origin}/api`, false, '--github-api')).toThrow(/local|loopback|private/);
    expect(() => apiPolicy('http://169.254.169.254/api', false, '--gitlab-api')).toThrow();
    expect(apiPolicy(`${origin}/api`, true, '--github-api').base.href).toBe(`${origin}/api`);
  });

  it('a page that links to itself ends the listing instead of looping', async () => {
    handlers.set('/api/loop', (_req, res) => res.writeHead(200, { link: `<${origin}/api/loop>; rel="next"` }).end('[1]'));
    const before = hits;
    expect(await client().list('/loop', 'loop')).toEqual([1]);
    expect(hits - before).toBe(1);
  });

  it('an endless chain of pages stops at the page limit', async () => {
    handlers.set('/api/endless', (req, res) => res.writeHead(200, { 'x-next-page': String(Number(new URL(req.url ?? '', origin).searchParams.get('page') ?? '1') + 1) }).end('[0]'));
    for (let page = 1; page <= 10; page++) {
      handlers.set(`/api/endless?page=${page}`, handlers.get('/api/endless') as (req: http.IncomingMessage, res: http.ServerResponse) => void);
    }
    await expect(client({ maxPages: 5 }).list('/endless', 'endless')).rejects.toThrow('more than 5 pages');
  });

  it('a reset too far away fails at once instead of stalling the scan', async () => {
    handlers.set('/api/far', (_req, res) =>
      res.writeHead(403, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600) }).end('{}'),
    );
    const waits: number[] = [];
    const started = Date.now();
    await expect(client({ sleep: (ms) => {
      waits.push(ms);
      return Promise.resolve();
    } }).get(`${origin}/api/far`, 'far')).rejects.toThrow(/resets in \d+ s, longer than/);
    expect(waits).toEqual([]);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('retries a rate limit a bounded number of times', async () => {
    let count = 0;
    handlers.set('/api/always429', (_req, res) => {
      count++;
      res.writeHead(429, { 'retry-after': '0' }).end('{}');
    });
    await expect(client({ maxRetries: 3, sleep: () => Promise.resolve() }).get(`${origin}/api/always429`, 'busy')).rejects.toThrow('still rate-limited after 3 retries');
    expect(count).toBe(4);
  });

  it('waits before the next request when the last answer spent the quota', async () => {
    const reset = Math.floor(Date.now() / 1000) + 2;
    handlers.set('/api/spent', (_req, res) => res.writeHead(200, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) }).end('[]'));
    const waits: number[] = [];
    const api = client({ sleep: (ms) => {
      waits.push(ms);
      return Promise.resolve();
    } });
    await api.get(`${origin}/api/spent`, 'spent');
    expect(waits).toEqual([]);
    await api.get(`${origin}/api/spent`, 'spent');
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThan(0);
    expect(waits[0]).toBeLessThanOrEqual(2000);
  });

  it('a server that never answers times out', async () => {
    handlers.set('/api/silent', () => undefined);
    const started = Date.now();
    await expect(client({ timeoutMs: 300 }).get(`${origin}/api/silent`, 'silent')).rejects.toThrow('timed out');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('an answer over the size bound is refused while streaming, without a content-length', async () => {
    handlers.set('/api/huge', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      let sent = 0;
      const pump = (): void => {
        while (sent < 40) {
          sent++;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    await expect(client().get(`${origin}/api/huge`, 'huge')).rejects.toThrow('answer too large');
  });
});
