import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KeywardenError } from '../../src/errors/index.js';
import { explainStartFailure } from '../../src/server/start-errors.js';
import { PROJECT_ROOT, spawnServe } from '../server/spawn-serve.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'kw-start-'));
  dirs.push(dir);
  return dir;
}

interface Exited {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `keywarden serve` expecting it to fail: resolves with its exit status and output (bounded wait). */
function serveUntilExit(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Exited> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'src/cli/bin.ts'), 'serve', ...args], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve) => {
    child.once('exit', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

async function occupyPort(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

const TOKEN = /kwadm_[0-9A-Za-z_-]+/;

describe('serve: a start that fails says why and how to fix it', () => {
  it('port in use: names the port and --port, exits 2, and the bootstrap token is still shown on the next start', async () => {
    const dataDir = await tempDir();
    const { server, port } = await occupyPort();
    try {
      const failed = await serveUntilExit(['--data', dataDir, '--port', String(port)]);
      expect(failed.status).toBe(2);
      expect(failed.stderr).toContain(`Port ${port} on 127.0.0.1 is already in use`);
      expect(failed.stderr).toContain('--port');
      expect(failed.stderr).not.toContain('unexpected error');
      expect(failed.stdout).not.toMatch(TOKEN);
      expect(failed.stderr).not.toMatch(TOKEN);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    // The failed start consumed nothing: the next one issues (and shows) the bootstrap token, and it works.
    const next = await spawnServe(['--data', dataDir], {});
    try {
      const token = TOKEN.exec(next.stdout())?.[0];
      expect(token).toBeDefined();
      const listed = await fetch(`${next.url}/admin/v1/keys`, { headers: { authorization: `Bearer ${token}` } });
      expect(listed.status).toBe(200);
    } finally {
      expect(await next.stop()).toBe(0);
    }
  });

  it('a host that is not an address of this machine: names the host and --host', async () => {
    const failed = await serveUntilExit(['--data', await tempDir(), '--port', '0', '--host', '192.0.2.1']);
    expect(failed.status).toBe(2);
    expect(failed.stderr).toContain('Cannot listen on 192.0.2.1: it is not an address of this machine');
    expect(failed.stderr).toContain('--host 127.0.0.1');
  });

  it('--data pointing at a file: says it is not a directory and names --data', async () => {
    const file = path.join(await tempDir(), 'not-a-dir');
    await writeFile(file, 'x');
    for (const dataDir of [file, path.join(file, 'sub')]) {
      const failed = await serveUntilExit(['--data', dataDir, '--port', '0']);
      expect(failed.status).toBe(2);
      expect(failed.stderr).toContain(`The data directory ${dataDir} is not a directory`);
      expect(failed.stderr).toContain('--data DIR');
      expect(failed.stderr).not.toContain('unexpected error');
    }
  });

  it('a bad config file: every problem listed, no stack, exit 2; with --json the error is one JSON object on stdout', async () => {
    const dir = await tempDir();
    const config = path.join(dir, 'bad.yaml');
    await writeFile(config, 'server:\n  port: "eighty"\n  hots: 1\n');
    const failed = await serveUntilExit(['--data', dir, '--config', config]);
    expect(failed.status).toBe(2);
    expect(failed.stderr).toContain('Invalid configuration');
    expect(failed.stderr).toContain('server.port');
    expect(failed.stderr).not.toMatch(/\n\s+at /);

    const { server, port } = await occupyPort();
    try {
      // A fresh data dir: the one above holds bad.yaml (0644), which the start would tighten to 0600 and log.
      const json = await serveUntilExit(['--data', await tempDir(), '--port', String(port), '--json']);
      expect(json.status).toBe(2);
      expect(json.stderr).toBe('');
      expect(JSON.parse(json.stdout)).toEqual({ error: { code: 'KW_START_FAILED', message: expect.stringContaining(`Port ${port}`) as unknown } });
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('serve: banner and shutdown', () => {
  it('prints export lines a shell can run as they are, and logs that it stopped on SIGTERM and SIGINT', async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const serve = await spawnServe(['--data', await tempDir()], {});
      const exports = serve
        .stdout()
        .split('\n')
        .filter((line) => line.trim().startsWith('export '))
        .join('\n');
      const printed = await new Promise<string>((resolve, reject) => {
        execFile('sh', ['-c', `${exports}\nprintf '%s %s' "$KEYWARDEN_URL" "$KEYWARDEN_ADMIN_TOKEN"`], (err, out) => (err ? reject(new Error(err.message)) : resolve(out)));
      });
      const [url, token] = printed.split(' ');
      expect(url).toBe(serve.url);
      expect(token).toMatch(TOKEN);
      expect((await fetch(`${url}/admin/v1/keys`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
      const code = await new Promise<number | null>((resolve) => {
        serve.child.once('exit', (status) => resolve(status));
        serve.child.kill(signal);
      });
      expect(code).toBe(0);
      const lines = serve
        .stderr()
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(lines.at(-1)).toMatchObject({ level: 'info', msg: 'keywarden stopped', signal });
      expect(serve.stderr()).not.toContain(token);
    }
  });
});

describe('explainStartFailure', () => {
  const ctx = { host: '127.0.0.1', port: 80, dataDir: '/srv/kw' };
  const sysError = (code: string, syscall: string, file?: string): NodeJS.ErrnoException =>
    Object.assign(new Error(`${code}: secret-looking detail sk-proj-abc`), { code, syscall, ...(file ? { path: file } : {}) });

  it('maps permission errors by what failed: the port or the data directory', () => {
    expect(explainStartFailure(sysError('EACCES', 'listen'), ctx).message).toMatch(/Permission denied to listen on 127\.0\.0\.1:80.*--port 8787/);
    expect(explainStartFailure(sysError('EACCES', 'open', '/srv/kw/master.key'), ctx).message).toMatch(
      /Permission denied on the data directory \/srv\/kw \(at \/srv\/kw\/master\.key\).*--data DIR/,
    );
    expect(explainStartFailure(sysError('EROFS', 'mkdir', '/srv/kw'), ctx).message).toContain('read-only');
    expect(explainStartFailure(sysError('ENOSPC', 'write'), ctx).message).toContain('No space left');
  });

  it('keeps our own errors, and never repeats a foreign message (which may hold anything)', () => {
    const ours = new KeywardenError('KW_CONFIG_INVALID', { message: 'Invalid configuration: x' });
    expect(explainStartFailure(ours, ctx)).toBe(ours);
    const odd = explainStartFailure(sysError('EWEIRD', 'ioctl', '/srv/kw/x'), ctx);
    expect(odd.code).toBe('KW_START_FAILED');
    expect(odd.message).toBe('Could not start: EWEIRD ioctl /srv/kw/x.');
    const plain = explainStartFailure(new TypeError('sk-proj-abc leaked'), ctx);
    expect(plain.message).toBe('Could not start (TypeError).');
    expect(explainStartFailure('a string', ctx).message).toBe('Could not start (string).');
    expect(explainStartFailure(null, ctx).message).not.toContain('null.');
  });
});
