import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/log/logger.js';
import { startServer } from '../../src/server/start-server.js';
import { cli } from '../cli/run-cli.js';
import { PROJECT_ROOT, spawnServe } from '../server/spawn-serve.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function freshDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'kw-datadir-'));
  dirs.push(dir);
  return dir;
}

const adminToken = (): string => `kwadm_${randomBytes(30).toString('base64url')}`;

/** Runs `keywarden serve` to completion (it is expected to refuse to start) and returns its exit code and stderr. */
function serveExpectingExit(dataDir: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'src/cli/bin.ts'), 'serve', '--port', '0', '--data', dataDir], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve) => {
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('one writer per data directory', () => {
  it('refuses a second serve on the same dir, naming the dir and the holder PID; kill -9 leaves no stale lock', async () => {
    const dataDir = await freshDir();
    const env = { KEYWARDEN_ADMIN_TOKEN: adminToken() };
    const first = await spawnServe(['--data', dataDir], env);
    try {
      const second = await serveExpectingExit(dataDir, env);
      expect(second.code).not.toBe(0);
      expect(second.code).not.toBeNull();
      expect(second.stderr).toContain(dataDir);
      expect(second.stderr).toContain(`PID ${first.child.pid}`);
      expect(second.stderr).toContain('KW_DATA_DIR_LOCKED');

      // A maintenance command that opens the dir directly is refused too, and changes nothing.
      const masterBefore = statSync(path.join(dataDir, 'master.key')).mtimeMs;
      const rotate = await cli(['vault', 'rotate-master', '--data', dataDir], {});
      expect(rotate.status).toBe(2);
      expect(rotate.stderr).toContain(`PID ${first.child.pid}`);
      expect(statSync(path.join(dataDir, 'master.key')).mtimeMs).toBe(masterBefore);
    } finally {
      first.child.kill('SIGKILL');
      await new Promise((resolve) => (first.child.exitCode !== null ? resolve(null) : first.child.once('exit', resolve)));
    }
    // Right after kill -9 (no waiting for any staleness timeout) the next server starts on the same dir.
    const restarted = await spawnServe(['--data', dataDir], env);
    const health = await fetch(`${restarted.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await restarted.stop()).toBe(0);
    // After a clean stop, a maintenance command may use the dir again.
    expect((await cli(['vault', 'rotate-master', '--data', dataDir], {})).status).toBe(0);
  }, 90_000);
});

describe('data directory permissions', () => {
  const boot = (dataDir: string, logs: PassThrough) =>
    startServer({
      config: parseConfig({ dataDir, server: { host: '127.0.0.1', port: 0 } }),
      env: { KEYWARDEN_ADMIN_TOKEN: adminToken() },
      logger: createLogger('info', logs),
    });

  it('tightens a pre-existing 0755 dir and a 0644 database, WAL and stray file to 0700/0600, and logs it', async () => {
    const dataDir = await freshDir();
    chmodSync(dataDir, 0o755);
    const dbFile = path.join(dataDir, 'keywarden.sqlite');
    const old = new Database(dbFile);
    old.pragma('journal_mode = WAL');
    old.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
    old.close();
    chmodSync(dbFile, 0o644);
    writeFileSync(path.join(dataDir, 'reservations.journal'), '', { mode: 0o644 });
    chmodSync(path.join(dataDir, 'reservations.journal'), 0o644);
    const logs = new PassThrough();
    let logText = '';
    logs.on('data', (c: Buffer) => (logText += c.toString()));
    const running = await boot(dataDir, logs);
    try {
      // Start-up wrote (the admin token and its audit entry), so the WAL and shm exist now.
      expect(statSync(dataDir).mode & 0o777).toBe(0o700);
      const names = readdirSync(dataDir);
      expect(names).toEqual(expect.arrayContaining(['keywarden.sqlite', 'keywarden.sqlite-wal', 'keywarden.sqlite-shm', 'master.key', 'reservations.journal']));
      for (const name of names) {
        const stat = statSync(path.join(dataDir, name));
        if (stat.isFile()) expect([name, stat.mode & 0o777]).toEqual([name, 0o600]);
      }
      expect(logText).toContain('permissions tightened');
      expect(logText).toContain('keywarden.sqlite (0644 -> 0600)');
    } finally {
      await running.close();
    }
  });

  it('creates every file 0600 and the dir 0700 even under umask 000', async () => {
    const parent = await freshDir();
    const dataDir = path.join(parent, 'nested', 'data');
    const previous = process.umask(0o000);
    let running;
    try {
      running = await boot(dataDir, new PassThrough());
    } finally {
      process.umask(previous);
    }
    try {
      expect(statSync(dataDir).mode & 0o777).toBe(0o700);
      const names = readdirSync(dataDir);
      expect(names.length).toBeGreaterThanOrEqual(4);
      for (const name of names) {
        const stat = statSync(path.join(dataDir, name));
        if (stat.isFile()) expect([name, stat.mode & 0o777]).toEqual([name, 0o600]);
      }
    } finally {
      await running.close();
    }
  });

  it('refuses a second in-process server on the same dir (the lock is not per-process only)', async () => {
    const dataDir = await freshDir();
    const first = await boot(dataDir, new PassThrough());
    try {
      await expect(boot(dataDir, new PassThrough())).rejects.toMatchObject({ code: 'KW_DATA_DIR_LOCKED' });
    } finally {
      await first.close();
    }
    const again = await boot(dataDir, new PassThrough());
    await again.close();
  });
});





