import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, Socket } from 'node:net';

/** A throw-away redis-server on 127.0.0.1 for one test file: no persistence, killed afterwards. */
export interface TestRedis {
  url: string;
  port: number;
  /** Sends one command over a raw connection (FLUSHALL, INFO, SCRIPT FLUSH …) and returns the raw reply. */
  command(...args: string[]): Promise<string>;
  /** Stops the server (SIGKILL: everything in memory is lost). */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty, as after a crash or failover. */
  start(): Promise<void>;
  /** Freezes the server (SIGSTOP): connections stay open, nothing is answered. `resume` continues it (SIGCONT). */
  pause(): void;
  resume(): void;
  /** Total EVALSHA + EVAL calls the server has run since it started. */
  scriptCalls(): Promise<number>;
}

const REDIS_SERVER = process.env.KW_REDIS_SERVER ?? '/usr/bin/redis-server';

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function encode(args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

/** One command on a fresh connection; resolves with everything read until the reply looks complete. */
function rawCommand(port: number, args: string[], timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`redis ${args[0]} timed out`));
    }, timeoutMs);
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString();
      const bulk = /^\$(\d+)\r\n/.exec(data);
      const complete = bulk ? data.length >= bulk[0].length + Number(bulk[1]) + 2 : data.endsWith('\r\n');
      if (complete) {
        clearTimeout(timer);
        socket.end();
        resolve(data);
      }
    });
    socket.connect(port, '127.0.0.1', () => socket.write(encode(args)));
  });
}

/** Starts redis-server; throws (so the test fails, never skips) when it cannot start. */
export async function startTestRedis(extraArgs: readonly string[] = []): Promise<TestRedis> {
  const port = await freePort();
  let child: ChildProcess | null = null;

  const start = async (): Promise<void> => {
    const proc = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes', ...extraArgs], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child = proc;
    let failure: Error | null = null;
    proc.once('error', (err) => (failure = err));
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      if (failure) break;
      if (proc.exitCode !== null) break;
      const pong = await rawCommand(port, ['PING'], 500).catch(() => '');
      if (pong.startsWith('+PONG') || pong.startsWith('-NOAUTH')) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    proc.kill('SIGKILL');
    throw new Error(`redis-server could not start on port ${port}: ${failure ? String(failure) : 'no PONG within 5 s'} (install it: apt-get install redis-server)`);
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    child = null;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = once(proc, 'exit');
    proc.kill('SIGKILL');
    await exited;
  };

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    command: (...args) => rawCommand(port, args),
    stop,
    start,
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
    async scriptCalls() {
      const info = await rawCommand(port, ['INFO', 'commandstats']);
      let total = 0;
      for (const match of info.matchAll(/cmdstat_(?:evalsha|eval):calls=(\d+)/g)) total += Number(match[1]);
      return total;
    },
  };
}
