import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { KeywardenError } from '../../errors/index.js';
import { ensureDir } from './repo-cache.js';

/** How git authenticates to a host: the user name the host expects with a token as password. */
export interface GitAuth {
  /** `x-access-token` (GitHub) or `oauth2` (GitLab). */
  user: string;
  token: string;
}

export interface FetchOptions {
  auth?: GitAuth;
  /** Only history since this time (`--shallow-since`); otherwise the full history. */
  since?: Date;
  /** Only the tip of every ref (`--depth 1`): what the repository holds now, without history. */
  tipsOnly?: boolean;
  /** Kills git after this long, ms. */
  timeoutMs?: number;
  env: NodeJS.ProcessEnv;
}

const DEFAULT_TIMEOUT_MS = 30 * 60_000;

/**
 * The environment git runs with. The token travels as an `http.<origin>/.extraHeader` set through
 * GIT_CONFIG_COUNT/KEY/VALUE: never in the URL (git would store it in the cache's config and print it in errors)
 * and never in argv (visible to every user in `ps`). The header is scoped to the clone URL's origin and redirects
 * are not followed, so it cannot reach another host. Credential helpers, prompts and tracing are switched off, and
 * only the clone URL's own transport is allowed (no file://, ssh or ext::).
 */
export function gitEnvironment(cloneUrl: URL, options: Pick<FetchOptions, 'auth' | 'env'>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(options.env)) {
    if (/^GIT_(CONFIG|TRACE|CURL|ASKPASS|SSH|PROXY_SSL|ALLOW_PROTOCOL|DIR|WORK_TREE|INDEX|OBJECT|NAMESPACE|TERMINAL)/.test(name) || name === 'SSH_ASKPASS') continue;
    env[name] = value;
  }
  const config: Array<[string, string]> = [
    ['credential.helper', ''],
    ['http.followRedirects', 'false'],
    ['core.askPass', ''],
  ];
  if (options.auth !== undefined && options.auth.token !== '') {
    const basic = Buffer.from(`${options.auth.user}:${options.auth.token}`).toString('base64');
    config.push([`http.${cloneUrl.origin}/.extraHeader`, `Authorization: Basic ${basic}`]);
  }
  env.GIT_CONFIG_COUNT = String(config.length);
  config.forEach(([key, value], index) => {
    env[`GIT_CONFIG_KEY_${index}`] = key;
    env[`GIT_CONFIG_VALUE_${index}`] = value;
  });
  env.GIT_TERMINAL_PROMPT = '0';
  env.GIT_ALLOW_PROTOCOL = cloneUrl.protocol === 'http:' ? 'http' : 'https';
  env.GIT_HTTP_LOW_SPEED_LIMIT = '1000';
  env.GIT_HTTP_LOW_SPEED_TIME = '60';
  return env;
}

function runGitNetwork(args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 4096) stderr += chunk.toString('utf8');
    });
    child.on('error', () => {
      clearTimeout(timer);
      reject(new KeywardenError('KW_USAGE', { message: 'git is not installed or not on PATH' }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve();
      if (signal === 'SIGKILL') return reject(new KeywardenError('KW_USAGE', { message: `${what}: git took longer than ${Math.round(timeoutMs / 1000)} s` }));
      // git's first error line names the URL and the failure; the URL carries no secret, the header is not echoed.
      const reason = stderr.split('\n').find((line) => line.trim() !== '') ?? `exit code ${String(code)}`;
      reject(new KeywardenError('KW_USAGE', { message: `${what}: ${reason.trim().slice(0, 300)}` }));
    });
  });
}

const exists = (file: string): Promise<boolean> => access(file).then(() => true, () => false);

/**
 * Brings one repository into `gitDir` as a bare mirror (every ref), cloning it the first time and fetching with
 * `--prune` after. A new clone lands in a temporary directory renamed into place, so an interrupted clone never
 * looks like a cached repository.
 */
export async function fetchMirror(cloneUrl: URL, gitDir: string, name: string, options: FetchOptions): Promise<void> {
  const env = gitEnvironment(cloneUrl, options);
  const timeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const depth = options.tipsOnly === true ? ['--depth', '1'] : options.since === undefined ? [] : [`--shallow-since=${options.since.toISOString()}`];
  if (await exists(path.join(gitDir, 'HEAD'))) {
    const unshallow = depth.length === 0 && (await exists(path.join(gitDir, 'shallow'))) ? ['--unshallow'] : [];
    await runGitNetwork(['--git-dir', gitDir, 'fetch', '--prune', '--quiet', ...depth, ...unshallow, 'origin'], env, timeout, `fetching ${name}`);
    return;
  }
  await ensureDir(path.dirname(gitDir));
  const temporary = `${gitDir}.tmp-${randomBytes(6).toString('hex')}`;
  try {
    // A shallow clone implies --single-branch, even with --mirror: every branch is wanted.
    const branches = depth.length > 0 ? ['--no-single-branch'] : [];
    await runGitNetwork(['clone', '--mirror', '--quiet', ...depth, ...branches, '--', cloneUrl.href, temporary], env, timeout, `cloning ${name}`);
    await rename(temporary, gitDir);
  } finally {
    await rm(temporary, { recursive: true, force: true });
  }
}
