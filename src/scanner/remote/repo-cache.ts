import { createHash } from 'node:crypto';
import { lstat, mkdir, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';

/** The file whose mtime records when a cached repository was last used; its presence also marks a dir as ours. */
export const USED_MARKER = 'keywarden-last-used';
export const DEFAULT_CACHE_MAX_BYTES = 10 * 1024 * 1024 * 1024;

/** `$XDG_CACHE_HOME/keywarden/repos`, `~/Library/Caches/keywarden/repos` or `%LOCALAPPDATA%\keywarden\repos`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv): string {
  if (process.platform === 'win32' && env.LOCALAPPDATA) return path.join(env.LOCALAPPDATA, 'keywarden', 'repos');
  if (process.platform === 'darwin') return path.join(homedir(), 'Library', 'Caches', 'keywarden', 'repos');
  const base = env.XDG_CACHE_HOME !== undefined && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.join(homedir(), '.cache');
  return path.join(base, 'keywarden', 'repos');
}

/** One directory per clone URL: a readable name plus a hash, so names that sanitise alike cannot collide. */
export function cachePathFor(cacheDir: string, cloneUrl: URL, identity: string): string {
  const host = cloneUrl.host.replace(/[^A-Za-z0-9.-]/g, '_');
  const readable = cloneUrl.pathname.replace(/\.git$/i, '').replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[_.]+/, '').slice(0, 80);
  const hash = createHash('sha256').update(identity).digest('hex').slice(0, 12);
  return path.join(cacheDir, host, `${readable || 'repo'}-${hash}.git`);
}

export async function markUsed(gitDir: string): Promise<void> {
  const marker = path.join(gitDir, USED_MARKER);
  const now = new Date();
  try {
    await utimes(marker, now, now);
  } catch {
    await writeFile(marker, '');
  }
}

async function sizeOf(dir: string): Promise<number> {
  let total = 0;
  const pending = [dir];
  while (pending.length > 0) {
    const current = pending.pop() as string;
    for (const entry of await readdir(current, { withFileTypes: true }).catch(() => [])) {
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) pending.push(full);
      else if (entry.isFile()) total += (await lstat(full).catch(() => ({ size: 0 }))).size;
    }
  }
  return total;
}

/**
 * Least-recently-used eviction: while the cache is over `maxBytes`, deletes the repository used longest ago.
 * Only directories carrying our marker are candidates, so a `--cache-dir` pointed at the wrong place loses nothing
 * of someone else's; `keep` (the repository being scanned) is never removed.
 */
export async function evictLeastRecentlyUsed(cacheDir: string, maxBytes: number, keep: ReadonlySet<string>): Promise<string[]> {
  const entries: Array<{ dir: string; used: number; bytes: number }> = [];
  for (const host of await readdir(cacheDir, { withFileTypes: true }).catch(() => [])) {
    if (!host.isDirectory()) continue;
    const hostDir = path.join(cacheDir, host.name);
    for (const repo of await readdir(hostDir, { withFileTypes: true }).catch(() => [])) {
      if (!repo.isDirectory() || !repo.name.endsWith('.git')) continue;
      const dir = path.join(hostDir, repo.name);
      const marker = await stat(path.join(dir, USED_MARKER)).catch(() => undefined);
      if (marker === undefined) continue;
      entries.push({ dir, used: marker.mtimeMs, bytes: await sizeOf(dir) });
    }
  }
  let total = entries.reduce((sum, entry) => sum + entry.bytes, 0);
  const evicted: string[] = [];
  for (const entry of entries.sort((a, b) => a.used - b.used)) {
    if (total <= maxBytes) break;
    if (keep.has(entry.dir)) continue;
    await rm(entry.dir, { recursive: true, force: true });
    total -= entry.bytes;
    evicted.push(entry.dir);
  }
  return evicted;
}

export async function ensureDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
}
