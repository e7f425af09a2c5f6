import { z } from 'zod';
import { KeywardenError } from '../../errors/index.js';
import type { ApiClient } from './api-client.js';
import type { RemoteRepo } from './remote-repo.js';

const GithubRepo = z.object({
  full_name: z.string().min(1).max(300),
  clone_url: z.string().max(2048),
  html_url: z.string().max(2048),
  fork: z.boolean(),
  forks_count: z.number().optional(),
  pushed_at: z.string().nullable().optional(),
  owner: z.object({ login: z.string().max(100) }).optional(),
});
type GithubRepo = z.infer<typeof GithubRepo>;

const GithubGist = z.object({
  id: z.string().regex(/^[A-Za-z0-9]{1,64}$/),
  git_pull_url: z.string().max(2048),
  html_url: z.string().max(2048),
  updated_at: z.string().nullable().optional(),
});

const GithubMember = z.object({ login: z.string().regex(/^[A-Za-z0-9-]{1,100}$/) });

export interface ListOptions {
  includeForks: boolean;
  includeGists: boolean;
  /** Only what was pushed (repos) or updated (gists) at or after this time. */
  since?: Date;
}

function parseAll<T>(schema: z.ZodType<T>, items: readonly unknown[], what: string): T[] {
  return items.map((item) => {
    const parsed = schema.safeParse(item);
    if (!parsed.success) throw new KeywardenError('KW_USAGE', { message: `${what}: the API returned an entry of an unexpected shape` });
    return parsed.data;
  });
}

function recentEnough(stamp: string | null | undefined, since: Date | undefined): boolean {
  if (since === undefined || stamp === null || stamp === undefined) return true;
  const time = Date.parse(stamp);
  return Number.isNaN(time) || time >= since.getTime();
}

function toRepo(repo: GithubRepo, kind: RemoteRepo['kind']): RemoteRepo {
  return { linkStyle: 'github', kind, name: repo.full_name, cloneUrl: repo.clone_url, webUrl: repo.html_url };
}

const segment = (value: string): string => encodeURIComponent(value);

async function forksOf(client: ApiClient, repos: readonly GithubRepo[], options: ListOptions): Promise<RemoteRepo[]> {
  const out: RemoteRepo[] = [];
  for (const repo of repos) {
    if (repo.forks_count === 0) continue;
    const [owner = '', name = ''] = repo.full_name.split('/');
    const what = `listing forks of ${repo.full_name}`;
    const forks = parseAll(GithubRepo, await client.list(`/repos/${segment(owner)}/${segment(name)}/forks?per_page=100`, what), what);
    for (const fork of forks) if (recentEnough(fork.pushed_at, options.since)) out.push(toRepo(fork, 'fork'));
  }
  return out;
}

async function gistsOf(client: ApiClient, users: readonly string[], options: ListOptions): Promise<RemoteRepo[]> {
  const out: RemoteRepo[] = [];
  for (const user of users) {
    const what = `listing gists of ${user}`;
    const gists = parseAll(GithubGist, await client.list(`/users/${segment(user)}/gists?per_page=100`, what), what);
    for (const gist of gists) {
      if (!recentEnough(gist.updated_at, options.since)) continue;
      out.push({ linkStyle: 'gist', kind: 'gist', name: `gist/${gist.id}`, cloneUrl: gist.git_pull_url, webUrl: gist.html_url });
    }
  }
  return out;
}

/** Every repository of an organisation; forks (its own and forks of its repositories) and members' gists on request. */
export async function listGithubOrg(client: ApiClient, org: string, options: ListOptions): Promise<RemoteRepo[]> {
  if (!/^[A-Za-z0-9][A-Za-z0-9-]{0,99}$/.test(org)) throw new KeywardenError('KW_USAGE', { message: '--github-org takes an organisation login' });
  const what = `listing repositories of ${org}`;
  const repos = parseAll(GithubRepo, await client.list(`/orgs/${segment(org)}/repos?type=all&per_page=100`, what), what);
  const kept = repos.filter((repo) => (options.includeForks || !repo.fork) && recentEnough(repo.pushed_at, options.since));
  const out = kept.map((repo) => toRepo(repo, repo.fork ? 'fork' : 'repository'));
  if (options.includeForks) out.push(...(await forksOf(client, kept.filter((repo) => !repo.fork), options)));
  if (options.includeGists) {
    const membersWhat = `listing members of ${org}`;
    const members = parseAll(GithubMember, await client.list(`/orgs/${segment(org)}/members?per_page=100`, membersWhat), membersWhat);
    out.push(...(await gistsOf(client, members.map((member) => member.login), options)));
  }
  return out;
}

/** One repository; its forks and its owner's gists on request. */
export async function listGithubRepo(client: ApiClient, fullName: string, options: ListOptions): Promise<RemoteRepo[]> {
  const match = /^([A-Za-z0-9][A-Za-z0-9-]{0,99})\/([A-Za-z0-9._-]{1,100})$/.exec(fullName);
  if (match === null || match[2] === '.' || match[2] === '..') throw new KeywardenError('KW_USAGE', { message: '--github-repo takes OWNER/NAME' });
  const [, owner = '', name = ''] = match;
  const what = `reading repository ${fullName}`;
  const [repo] = parseAll(GithubRepo, [(await client.get(client.url(`/repos/${segment(owner)}/${segment(name)}`), what)).body], what);
  if (repo === undefined) return [];
  const out = [toRepo(repo, repo.fork ? 'fork' : 'repository')];
  if (options.includeForks) out.push(...(await forksOf(client, [repo], options)));
  if (options.includeGists) out.push(...(await gistsOf(client, [owner], options)));
  return out;
}
