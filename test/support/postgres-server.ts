import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import pg from 'pg';

/** A throw-away PostgreSQL cluster for one test file: initdb in a temp dir, 127.0.0.1 on a free port, no fsync. */
export interface TestPostgres {
  port: number;
  /** A fresh, empty database; returns its URL. */
  createDatabase(): Promise<string>;
  /** Runs one statement as the superuser in the given database (by URL). */
  query(url: string, sql: string, values?: unknown[]): Promise<pg.QueryResult>;
  /** Stops the server (fast shutdown: connections are cut); `start` brings it back on the same port and data. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it and deletes the cluster. */
  destroy(): Promise<void>;
}

/** The newest installed server binaries (Debian: /usr/lib/postgresql/<major>/bin), or KW_PG_BIN. */
function binDir(): string {
  const fromEnv = process.env.KW_PG_BIN;
  if (fromEnv) return fromEnv;
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root)
    ? readdirSync(root)
        .filter((name) => existsSync(path.join(root, name, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (majors.length === 0) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql (install them: apt-get install postgresql)');
  return path.join(root, majors[0] as string, 'bin');
}

/** initdb and postgres refuse to run as root: as root they run as the `postgres` user. */
function runAs(): { uid: number; gid: number } | Record<string, never> {
  if (process.getuid?.() !== 0) return {};
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Starts a cluster; throws (so the test fails, never skips) when PostgreSQL cannot start. */
export async function startTestPostgres(): Promise<TestPostgres> {
  const bin = binDir();
  const user = runAs();
  const dir = mkdtempSync('/tmp/kwpg-');
  const data = path.join(dir, 'data');
  if ('uid' in user) chownSync(dir, user.uid, user.gid);
  const init = spawnSync(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '--locale=C', '-E', 'UTF8'], {
    ...user,
    encoding: 'utf8',
  });
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${init.stderr || String(init.error)}`);
  }
  const port = await freePort();
  const adminUrl = (db: string): string => `postgres://postgres@127.0.0.1:${port}/${db}`;
  let child: ChildProcess | null = null;
  let databases = 0;

  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // Immediate shutdown of any cluster still running when the test process exits for whatever reason.
    process.once('exit', () => {
      for (const proc of live) proc.kill('SIGQUIT');
    });
  }

  const start = async (): Promise<void> => {
    const args = ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'synchronous_commit=off'];
    args.push('-c', 'full_page_writes=off', '-c', 'max_connections=300', '-c', 'shared_buffers=32MB');
    const proc = spawn(path.join(bin, 'postgres'), args, { ...user, stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    live.add(proc);
    let stderr = '';
    proc.stderr?.on('data', (chunk: Buffer) => {
      if (stderr.length < 10_000) stderr += chunk.toString();
    });
    proc.once('exit', () => live.delete(proc));
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && proc.exitCode === null) {
      const client = new pg.Client({ connectionString: adminUrl('postgres'), connectionTimeoutMillis: 1000 });
      try {
        await client.connect();
        await client.end();
        return;
      } catch {
        await client.end().catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    proc.kill('SIGKILL');
    throw new Error(`postgres could not start on port ${port}: ${stderr.slice(-2000)}`);
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    child = null;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = once(proc, 'exit');
    proc.kill('SIGINT');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };

  const query = async (url: string, sql: string, values: unknown[] = []): Promise<pg.QueryResult> => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return await client.query(sql, values);
    } finally {
      await client.end();
    }
  };

  await start();
  return {
    port,
    async createDatabase() {
      const name = `kw_${process.pid}_${++databases}`;
      await query(adminUrl('postgres'), `CREATE DATABASE ${name}`);
      return adminUrl(name);
    },
    query,
    stop,
    start,
    async destroy() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One PostgreSQL cluster per test file (module state is per file), started on first use. */
let cluster: Promise<TestPostgres> | null = null;
let users = 0;

/** The file's cluster; every `acquire` must be paired with a `release` (the last one stops it). */
export function acquireTestPostgres(): Promise<TestPostgres> {
  users++;
  cluster ??= startTestPostgres();
  return cluster;
}

export async function releaseTestPostgres(): Promise<void> {
  if (--users > 0 || !cluster) return;
  const current = cluster;
  cluster = null;
  await (await current.catch(() => null))?.destroy();
}

