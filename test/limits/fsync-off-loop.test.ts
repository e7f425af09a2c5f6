// Issue 14: under steady load on a key with limits and budgets, the gateway's event loop (its main thread) must
// never wait in fsync/fdatasync; the write-ahead log and the reservation journal are fsynced by libuv's threadpool.
// strace -f follows every thread of the running gateway and prefixes each line with the thread id; the main
// thread's id is the process id. The test fails if strace cannot attach (it must not pass by tracing nothing).
// Not covered, and so kept out of the traced window: SQLite's own automatic checkpoint, which fsyncs the log and
// the database on the connection's thread once per ~1,000 WAL pages (about every 1,500 requests here), plus one
// fsync of the log's header when the next commit restarts it. The test empties the log (a checkpoint from a second
// connection) before its warm-up, so the 400 traced requests (~400 pages) stay far from the next one.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { startFakeOpenAI } from '../support/fake-openai.js';
import { spawnServe, type ServeProcess } from '../server/spawn-serve.js';

interface Traced {
  tid: number;
  call: string;
  file: string;
}

function parseTrace(text: string): Traced[] {
  const calls: Traced[] = [];
  // e.g. `1234  fsync(23</tmp/kw-x/keywarden.sqlite-wal>) = 0`, or `1234  fsync(23</…/reservations.journal> <unfinished ...>`
  for (const match of text.matchAll(/^(\d+)\s+(fsync|fdatasync)\(\d+<([^>]*)>/gm)) {
    calls.push({ tid: Number(match[1]), call: match[2] as string, file: match[3] as string });
  }
  return calls;
}

function attachStrace(pid: number, out: string): Promise<ChildProcess> {
  const tracer = spawn('strace', ['-f', '-y', '-e', 'trace=fsync,fdatasync', '-o', out, '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`strace did not attach: ${err}`)), 20_000);
    tracer.once('error', (e) => reject(e));
    tracer.stderr?.on('data', (c: Buffer) => {
      err += c.toString();
      if (/attached/.test(err)) {
        clearTimeout(timer);
        resolve(tracer);
      }
    });
    tracer.once('exit', (code) => reject(new Error(`strace exited with ${code}: ${err}`)));
  });
}

describe('durability off the event loop', () => {
  it('runs no fsync on the main thread during steady budgeted load, while the threadpool fsyncs the WAL and the journal', async () => {
    const upstreamKey = `sk-proj-${randomBytes(30).toString('base64url')}`;
    const adminToken = `kwadm_${randomBytes(30).toString('base64url')}`;
    const fake = await startFakeOpenAI({ apiKeys: [upstreamKey] });
    const dataDir = await mkdtemp(path.join(tmpdir(), 'kw-fsync-loop-'));
    const traceFile = path.join(dataDir, 'strace.out');
    let server: ServeProcess | null = null;
    let tracer: ChildProcess | null = null;
    try {
      server = await spawnServe(['--data', dataDir], { KEYWARDEN_ADMIN_TOKEN: adminToken });
      const url = server.url;
      const admin = async <T,>(method: string, route: string, body?: unknown): Promise<T> =>
        (await (await fetch(`${url}/admin/v1${route}`, { method, headers: { authorization: `Bearer ${adminToken}` }, body: body === undefined ? undefined : JSON.stringify(body) })).json()) as T;
      await admin('POST', '/upstreams', { name: 'fake', provider: 'openai', base_url: fake.url, keys: [upstreamKey] });
      const { key } = await admin<{ key: string }>('POST', '/keys', {
        name: 'fsync-loop',
        limits: { rpm: 100_000, tpm: 1_000_000_000, concurrency: 1000, max_output_tokens: 256, budgets: [{ usd: 100, period: 'lifetime' }, { usd: 1000, period: 'month' }] },
      });
      const client = new OpenAI({ apiKey: key, baseURL: `${url}/v1`, maxRetries: 0 });
      const run = async (requests: number, connections: number): Promise<void> => {
        let next = 0;
        const worker = async (): Promise<void> => {
          while (next < requests) {
            next += 1;
            await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Tell me about lighthouses.' }] });
          }
        };
        await Promise.all(Array.from({ length: connections }, worker));
      };
      const checkpointer = new Database(path.join(dataDir, 'keywarden.sqlite'));
      checkpointer.pragma('wal_checkpoint(TRUNCATE)');
      checkpointer.close();
      await run(50, 8); // warm: the key's spend is loaded, statements prepared, the log restarted (its header fsync)

      const pid = server.child.pid ?? -1;
      tracer = await attachStrace(pid, traceFile);
      await run(400, 16);
      // Let the last batch's fsyncs (20 ms timer, then the threadpool) finish while traced.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const exited = new Promise((resolve) => tracer?.once('exit', resolve));
      tracer.kill('SIGINT');
      await exited;
      tracer = null;

      const calls = parseTrace(readFileSync(traceFile, 'utf8'));
      const onMain = calls.filter((c) => c.tid === pid);
      const elsewhere = calls.filter((c) => c.tid !== pid);
      expect(onMain, `fsyncs on the event loop: ${JSON.stringify(onMain.slice(0, 5))}`).toEqual([]);
      // The durability work did happen, in other threads, on both files.
      expect(elsewhere.some((c) => c.file.endsWith('keywarden.sqlite-wal'))).toBe(true);
      expect(elsewhere.some((c) => c.file.endsWith('reservations.journal'))).toBe(true);
      // Coalesced: far fewer fsyncs than requests (one per settlement / usage batch at most).
      expect(elsewhere.length).toBeLessThan(400);
      await server.stop();
      server = null;
    } finally {
      tracer?.kill('SIGKILL');
      server?.child.kill('SIGKILL');
      await fake.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
