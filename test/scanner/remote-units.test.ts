import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSize } from '../../src/cli/commands/scan-remote.js';
import { apiPolicy, rateLimitWaitMs } from '../../src/scanner/remote/api-client.js';
import { checkCloneUrl } from '../../src/scanner/remote/clone-url.js';
import { gitEnvironment } from '../../src/scanner/remote/git-fetch.js';
import { dedupeRepos, findingLink, type RemoteRepo } from '../../src/scanner/remote/remote-repo.js';
import { cachePathFor, evictLeastRecentlyUsed, USED_MARKER } from '../../src/scanner/remote/repo-cache.js';
import { createOutboundPolicy } from '../../src/policy/outbound-url.js';
import { tempDir } from './helpers.js';

const repo = (over: Partial<RemoteRepo>): RemoteRepo => ({
  linkStyle: 'github',
  kind: 'repository',
  name: 'acme/app',
  cloneUrl: 'https://github.com/acme/app.git',
  webUrl: 'https://github.com/acme/app',
  ...over,
});

describe('finding links', () => {
  it('points at the commit and line in each host style, with paths encoded', () => {
    const sha = 'a'.repeat(40);
    expect(findingLink(repo({}), sha, 'dir/my file#1.ts', 12)).toBe(`https://github.com/acme/app/blob/${sha}/dir/my%20file%231.ts#L12`);
    expect(findingLink(repo({ linkStyle: 'gitlab', webUrl: 'https://gitlab.example/g/sub/p/' }), sha, 'a/b.py', 3)).toBe(`https://gitlab.example/g/sub/p/-/blob/${sha}/a/b.py#L3`);
    expect(findingLink(repo({ linkStyle: 'gist', webUrl: 'https://gist.github.com/alice/abc' }), sha, 'My.Env', 2)).toBe(`https://gist.github.com/alice/abc/${sha}#file-my-env-L2`);
  });
});

describe('deduplication', () => {
  it('treats case, a trailing .git and a trailing slash as the same repository', () => {
    const out = dedupeRepos([
      repo({}),
      repo({ cloneUrl: 'https://GitHub.com/Acme/App', kind: 'fork' }),
      repo({ cloneUrl: 'https://github.com/acme/app.git/' }),
      repo({ name: 'acme/other', cloneUrl: 'https://github.com/acme/other.git' }),
    ]);
    expect(out.map((r) => [r.name, r.kind])).toEqual([
      ['acme/app', 'repository'],
      ['acme/other', 'repository'],
    ]);
  });
});

describe('rate-limit headers', () => {
  it('prefers retry-after, then x-ratelimit-reset; ignores garbage', () => {
    const now = 1_700_000_000_000;
    expect(rateLimitWaitMs(new Headers({ 'retry-after': '7', 'x-ratelimit-reset': '1700000100' }), now)).toBe(7000);
    expect(rateLimitWaitMs(new Headers({ 'x-ratelimit-reset': '1700000003' }), now)).toBe(3000);
    expect(rateLimitWaitMs(new Headers({ 'x-ratelimit-reset': '1699999999' }), now)).toBe(0);
    expect(rateLimitWaitMs(new Headers({ 'retry-after': '-5' }), now)).toBeUndefined();
    expect(rateLimitWaitMs(new Headers({ 'retry-after': '1e9' }), now)).toBeUndefined();
    expect(rateLimitWaitMs(new Headers({}), now)).toBeUndefined();
  });
});

describe('clone URLs', () => {
  const policy = createOutboundPolicy({ allow: [] });
  it('accepts the web host behind api.github.com and its gist host, nothing else', () => {
    const api = new URL('https://api.github.com');
    expect(checkCloneUrl('https://github.com/acme/app.git', api, policy, 'a').host).toBe('github.com');
    expect(checkCloneUrl('https://gist.github.com/abc.git', api, policy, 'a').host).toBe('gist.github.com');
    expect(() => checkCloneUrl('https://evil.example/acme/app.git', api, policy, 'a')).toThrow('host other than');
    expect(() => checkCloneUrl('http://github.com/acme/app.git', api, policy, 'a')).toThrow();
    expect(() => checkCloneUrl('https://github.com/acme/app.git?x=1', api, policy, 'a')).toThrow('query');
    expect(() => checkCloneUrl('ssh://git@github.com/acme/app.git', api, policy, 'a')).toThrow();
  });
  it('a named internal API allows its own web host, and no other internal host', () => {
    const { policy: named, base } = apiPolicy('https://api.ghe.internal/api/v3', true, '--github-api');
    expect(checkCloneUrl('https://ghe.internal/acme/app.git', base, named, 'a').host).toBe('ghe.internal');
    expect(() => checkCloneUrl('https://other.internal/acme/app.git', base, named, 'a')).toThrow();
    expect(() => checkCloneUrl('https://ghe.internal:8443/acme/app.git', base, named, 'a')).toThrow();
    // An IP-literal API (IPv4 or IPv6) allows exactly itself.
    for (const api of ['http://127.0.0.1:8080/api/v3', 'http://[::1]:8080/api/v4']) {
      const ip = apiPolicy(api, true, '--gitlab-api');
      expect(checkCloneUrl(`${ip.base.origin}/g/p.git`, ip.base, ip.policy, 'a').origin).toBe(ip.base.origin);
      expect(() => checkCloneUrl('http://127.0.0.2:8080/g/p.git', ip.base, ip.policy, 'a')).toThrow();
    }
  });
});

describe('git environment', () => {
  const token = 'kwtest_secret_value';
  const env = gitEnvironment(new URL('https://github.com/acme/app.git'), {
    auth: { user: 'x-access-token', token },
    env: { PATH: '/usr/bin', HOME: '/home/u', GIT_TRACE_CURL: '1', GIT_TRACE: '1', GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'http.proxy', GIT_CONFIG_VALUE_0: 'http://evil', GIT_ASKPASS: '/bin/echo', GIT_DIR: '/x' },
  });
  it('carries the token only as an Authorization header scoped to the clone origin, with helpers and redirects off', () => {
    const pairs: Record<string, string | undefined> = {};
    for (let i = 0; i < Number(env.GIT_CONFIG_COUNT); i++) pairs[env[`GIT_CONFIG_KEY_${i}`] ?? ''] = env[`GIT_CONFIG_VALUE_${i}`];
    expect(pairs).toEqual({
      'credential.helper': '',
      'http.followRedirects': 'false',
      'core.askPass': '',
      'http.https://github.com/.extraHeader': `Authorization: Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`,
    });
    expect(env.GIT_ALLOW_PROTOCOL).toBe('https');
    expect(env.GIT_TERMINAL_PROMPT).toBe('0');
  });
  it('drops inherited tracing, askpass and git-dir settings', () => {
    expect(env.GIT_TRACE_CURL).toBeUndefined();
    expect(env.GIT_TRACE).toBeUndefined();
    expect(env.GIT_ASKPASS).toBeUndefined();
    expect(env.GIT_DIR).toBeUndefined();
    expect(Object.values(env)).not.toContain('http://evil');
    expect(env.PATH).toBe('/usr/bin');
  });
});

describe('repository cache', () => {
  it('names directories per clone URL without collisions or traversal', () => {
    const a = cachePathFor('/c', new URL('https://github.com/acme/../app.git'), 'one');
    const b = cachePathFor('/c', new URL('https://github.com/acme/app.git'), 'two');
    expect(a).not.toBe(b);
    for (const dir of [a, b]) expect(path.relative('/c', dir).startsWith('..')).toBe(false);
  });

  it('evicts the least recently used repositories above the limit, never the one in use or a directory it did not create', async () => {
    const cache = await tempDir('lru');
    const make = async (name: string, bytes: number, usedSecondsAgo: number | null): Promise<string> => {
      const dir = path.join(cache, 'host', `${name}.git`);
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, 'pack'), Buffer.alloc(bytes));
      if (usedSecondsAgo !== null) {
        const marker = path.join(dir, USED_MARKER);
        await writeFile(marker, '');
        const when = new Date(Date.now() - usedSecondsAgo * 1000);
        await utimes(marker, when, when);
      }
      return dir;
    };
    await make('oldest', 4000, 300);
    const current = await make('current', 4000, 400);
    await make('middle', 4000, 200);
    await make('newest', 4000, 100);
    await make('foreign', 50_000, null);
    const evicted = await evictLeastRecentlyUsed(cache, 9000, new Set([current]));
    expect(evicted.map((dir) => path.basename(dir))).toEqual(['oldest', 'middle'].map((n) => `${n}.git`));
    expect((await readdir(path.join(cache, 'host'))).sort()).toEqual(['current.git', 'foreign.git', 'newest.git']);
  });
});

describe('--cache-max-size', () => {
  it('reads units and refuses anything else', () => {
    expect(parseSize('10G')).toBe(10 * 1024 ** 3);
    expect(parseSize('500M')).toBe(500 * 1024 ** 2);
    expect(parseSize('2048')).toBe(2048);
    expect(parseSize('1KiB')).toBe(1024);
    for (const bad of ['', '-1', '1.5G', '10X', 'G']) expect(() => parseSize(bad), bad).toThrow();
  });
});
