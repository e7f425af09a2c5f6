import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { KeywardenError } from '../../errors/index.js';
import type { OutboundLookup } from '../../policy/outbound-connect.js';
import type { OutboundPolicy } from '../../policy/outbound-url.js';
import { loadScanConfig } from '../config/load.js';
import { compareFindings, toReportable } from '../finding.js';
import { renderSarif } from '../reporters/sarif.js';
import { scanGitHistory, type SourceOptions } from '../sources/sources.js';
import type { Finding } from '../types.js';
import { toolVersion } from '../version.js';
import { ApiClient, apiPolicy } from './api-client.js';
import { checkCloneUrl } from './clone-url.js';
import { fetchMirror, type GitAuth } from './git-fetch.js';
import { listGithubOrg, listGithubRepo, type ListOptions } from './github.js';
import { listGitlabGroup } from './gitlab.js';
import { dedupeRepos, findingLink, repoIdentity, type RemoteRepo } from './remote-repo.js';
import { cachePathFor, DEFAULT_CACHE_MAX_BYTES, defaultCacheDir, evictLeastRecentlyUsed, markUsed } from './repo-cache.js';

export interface RemoteScanRequest {
  githubOrgs: readonly string[];
  githubRepos: readonly string[];
  gitlabGroups: readonly string[];
  githubApi?: string;
  gitlabApi?: string;
  /** Environment variable holding the token (default GITHUB_TOKEN / GITLAB_TOKEN). */
  tokenEnv?: string;
  includeForks: boolean;
  includeGists: boolean;
  /** Fetch only the tip of every ref (no history). */
  tipsOnly?: boolean;
  /** ISO date or date-time: repositories pushed since then, history since then. */
  since?: string;
  cacheDir?: string;
  cacheMaxBytes?: number;
  sarifDir?: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  configFile?: string;
  baseline?: string;
  /** Tests: resolver, sleep and the longest rate-limit wait. */
  lookup?: OutboundLookup;
  sleep?: (ms: number) => Promise<void>;
  maxWaitMs?: number;
}

export interface RemoteScanOutcome {
  findings: Finding[];
  suppressed: number;
  warnings: string[];
  /** Repositories fetched and scanned, and those that could not be. */
  scanned: number;
  failed: number;
}

/** One API host and what its repositories need: the client, the clone URL policy and the git credentials. */
interface HostContext {
  client: ApiClient;
  policy: OutboundPolicy;
  auth?: GitAuth;
}

export function parseSince(value: string): Date {
  const date = /^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value) ? new Date(value) : new Date(Number.NaN);
  if (Number.isNaN(date.getTime())) throw new KeywardenError('KW_USAGE', { message: '--since takes a date (YYYY-MM-DD or an ISO date-time) with a remote source' });
  return date;
}

function tokenFrom(env: NodeJS.ProcessEnv, variable: string): string | undefined {
  const value = env[variable];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function hostContext(kind: 'github' | 'gitlab', request: RemoteScanRequest, warnings: string[]): HostContext {
  const named = kind === 'github' ? request.githubApi : request.gitlabApi;
  const baseUrl = named ?? (kind === 'github' ? 'https://api.github.com' : 'https://gitlab.com/api/v4');
  const { policy } = apiPolicy(baseUrl, named !== undefined, kind === 'github' ? '--github-api' : '--gitlab-api');
  const variable = request.tokenEnv ?? (kind === 'github' ? 'GITHUB_TOKEN' : 'GITLAB_TOKEN');
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,100}$/.test(variable)) throw new KeywardenError('KW_USAGE', { message: '--token-env takes an environment variable name' });
  const token = tokenFrom(request.env, variable);
  if (token === undefined) warnings.push(`${variable} is not set: listing ${kind === 'github' ? 'GitHub' : 'GitLab'} without a token (public repositories only, low rate limit)`);
  // A token with a line break would smuggle a second header into every request and into git's config.
  if (token !== undefined && /[\r\n\0]/.test(token)) throw new KeywardenError('KW_USAGE', { message: `${variable} holds a control character` });
  const authHeaders: Record<string, string> =
    token === undefined ? {} : kind === 'github' ? { authorization: `Bearer ${token}`, 'x-github-api-version': '2022-11-28' } : { 'private-token': token };
  const client = new ApiClient(
    {
      baseUrl,
      authHeaders,
      ...(request.lookup ? { lookup: request.lookup } : {}),
      ...(request.sleep ? { sleep: request.sleep } : {}),
      ...(request.maxWaitMs !== undefined ? { maxWaitMs: request.maxWaitMs } : {}),
    },
    policy,
  );
  const context: HostContext = { client, policy };
  if (token !== undefined) context.auth = { user: kind === 'github' ? 'x-access-token' : 'oauth2', token };
  return context;
}

function sarifFileName(repo: RemoteRepo, host: string): string {
  return `${`${host}_${repo.name}`.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 200)}.sarif`;
}

/**
 * `keywarden scan --github-org/--github-repo/--gitlab-group`: lists repositories through the API, fetches each
 * once into the cache (bare mirror: every branch, tag and pull/merge-request ref), scans its whole history with the
 * `--git` source, and links every finding to its commit and line. A repository that fails is a warning; the rest
 * are still scanned.
 */
export async function runRemoteScan(request: RemoteScanRequest): Promise<RemoteScanOutcome> {
  const warnings: string[] = [];
  const since = request.since === undefined ? undefined : parseSince(request.since);
  const listOptions: ListOptions = { includeForks: request.includeForks, includeGists: request.includeGists, ...(since ? { since } : {}) };
  const config = await loadScanConfig(request.cwd, request.configFile);
  const options: SourceOptions = {
    disabledRules: new Set(config.disableRules),
    decode: config.decode,
    maxFileSize: config.maxFileSize,
    workers: config.workers,
    // The scanned repositories' own .keywardenignore is not read: a repository must not hide itself.
    ignorePatterns: [...config.ignorePaths],
  };
  const cacheDir = path.resolve(request.cwd, request.cacheDir ?? defaultCacheDir(request.env));
  const cacheMax = request.cacheMaxBytes ?? DEFAULT_CACHE_MAX_BYTES;

  const contexts: HostContext[] = [];
  const listed: Array<{ repo: RemoteRepo; context: HostContext }> = [];
  try {
    if (request.githubOrgs.length > 0 || request.githubRepos.length > 0) {
      const github = hostContext('github', request, warnings);
      contexts.push(github);
      for (const org of request.githubOrgs) for (const repo of await listGithubOrg(github.client, org, listOptions)) listed.push({ repo, context: github });
      for (const name of request.githubRepos) for (const repo of await listGithubRepo(github.client, name, listOptions)) listed.push({ repo, context: github });
    }
    if (request.gitlabGroups.length > 0) {
      const gitlab = hostContext('gitlab', request, warnings);
      contexts.push(gitlab);
      for (const group of request.gitlabGroups) for (const repo of await listGitlabGroup(gitlab.client, group, listOptions)) listed.push({ repo, context: gitlab });
    }
  } finally {
    await Promise.all(contexts.map((context) => context.client.close()));
  }

  const contextOf = new Map(listed.map(({ repo, context }) => [repoIdentity(repo.cloneUrl), context]));
  const repos = dedupeRepos(listed.map(({ repo }) => repo));
  if (request.sarifDir !== undefined) await mkdir(path.resolve(request.cwd, request.sarifDir), { recursive: true });

  const all: Finding[] = [];
  let scanned = 0;
  let failed = 0;
  for (const repo of repos) {
    const context = contextOf.get(repoIdentity(repo.cloneUrl)) as HostContext;
    let gitDir: string | undefined;
    try {
      const cloneUrl = checkCloneUrl(repo.cloneUrl, context.client.base, context.policy, repo.name);
      gitDir = cachePathFor(cacheDir, cloneUrl, repoIdentity(repo.cloneUrl));
      await fetchMirror(cloneUrl, gitDir, repo.name, { env: request.env, ...(context.auth ? { auth: context.auth } : {}), ...(since ? { since } : {}), tipsOnly: request.tipsOnly === true });
      await markUsed(gitDir);
      const found = await scanGitHistory(gitDir, ['--all'], options);
      for (const finding of found) {
        if (finding.commit !== undefined) finding.url = findingLink(repo, finding.commit.sha, finding.path, finding.line);
        finding.repository = repo.name;
      }
      found.sort(compareFindings);
      if (request.sarifDir !== undefined) {
        const sarif = renderSarif(found.map((finding) => toReportable(finding, false)), { toolVersion: toolVersion() });
        await writeFile(path.join(path.resolve(request.cwd, request.sarifDir), sarifFileName(repo, context.client.base.hostname)), sarif);
      }
      // In the combined report paths are prefixed with the repository, so two repositories' files stay apart.
      for (const finding of found) all.push({ ...finding, path: `${repo.name}/${finding.path}` });
      scanned++;
    } catch (error) {
      failed++;
      const reason = error instanceof KeywardenError ? error.message : 'unexpected failure';
      warnings.push(`skipped ${repo.name}: ${reason}`);
    }
    await evictLeastRecentlyUsed(cacheDir, cacheMax, new Set(gitDir === undefined ? [] : [gitDir])).catch(() => undefined);
  }
  all.sort(compareFindings);

  const outcome: RemoteScanOutcome = { findings: all, suppressed: 0, warnings, scanned, failed };
  const baselineFile = request.baseline ?? config.baseline;
  if (baselineFile !== undefined) {
    const { newFindings, readBaseline } = await import('../baseline/baseline.js');
    outcome.findings = newFindings(all, await readBaseline(path.resolve(request.cwd, baselineFile)));
    outcome.suppressed = all.length - outcome.findings.length;
  }
  return outcome;
}
