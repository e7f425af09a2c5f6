import { z } from 'zod';
import { KeywardenError } from '../../errors/index.js';
import type { ApiClient } from './api-client.js';
import type { ListOptions } from './github.js';
import type { RemoteRepo } from './remote-repo.js';

const GitlabProject = z.object({
  id: z.number().int().nonnegative(),
  path_with_namespace: z.string().min(1).max(500),
  http_url_to_repo: z.string().max(2048),
  web_url: z.string().max(2048),
  forked_from_project: z.object({}).passthrough().nullable().optional(),
  forks_count: z.number().optional(),
  last_activity_at: z.string().nullable().optional(),
});
type GitlabProject = z.infer<typeof GitlabProject>;

function parseAll(items: readonly unknown[], what: string): GitlabProject[] {
  return items.map((item) => {
    const parsed = GitlabProject.safeParse(item);
    if (!parsed.success) throw new KeywardenError('KW_USAGE', { message: `${what}: the API returned an entry of an unexpected shape` });
    return parsed.data;
  });
}

function recentEnough(project: GitlabProject, since: Date | undefined): boolean {
  if (since === undefined || project.last_activity_at === null || project.last_activity_at === undefined) return true;
  const time = Date.parse(project.last_activity_at);
  return Number.isNaN(time) || time >= since.getTime();
}

function toRepo(project: GitlabProject, kind: RemoteRepo['kind']): RemoteRepo {
  return { linkStyle: 'gitlab', kind, name: project.path_with_namespace, cloneUrl: project.http_url_to_repo, webUrl: project.web_url };
}

/** Every project of a group and its subgroups; forks (its own and forks of its projects) on request. */
export async function listGitlabGroup(client: ApiClient, group: string, options: ListOptions): Promise<RemoteRepo[]> {
  if (!/^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,254}(\/[A-Za-z0-9_.][A-Za-z0-9_.-]{0,254}){0,20}$/.test(group) || group.split('/').some((part) => part === '.' || part === '..')) {
    throw new KeywardenError('KW_USAGE', { message: '--gitlab-group takes a group path such as acme or acme/platform' });
  }
  const what = `listing projects of ${group}`;
  const projects = parseAll(await client.list(`/groups/${encodeURIComponent(group)}/projects?include_subgroups=true&per_page=100`, what), what);
  const isFork = (project: GitlabProject): boolean => project.forked_from_project !== undefined && project.forked_from_project !== null;
  const kept = projects.filter((project) => (options.includeForks || !isFork(project)) && recentEnough(project, options.since));
  const out = kept.map((project) => toRepo(project, isFork(project) ? 'fork' : 'repository'));
  if (options.includeForks) {
    for (const project of kept) {
      if (isFork(project) || project.forks_count === 0) continue;
      const forksWhat = `listing forks of ${project.path_with_namespace}`;
      for (const fork of parseAll(await client.list(`/projects/${project.id}/forks?per_page=100`, forksWhat), forksWhat)) {
        if (recentEnough(fork, options.since)) out.push(toRepo(fork, 'fork'));
      }
    }
  }
  return out;
}
