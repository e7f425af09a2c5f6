// What a socket write costs the writing process when its reader, on the other core, is asleep (the write must wake
// it with a cross-core interrupt) against when the reader is already running. On this kind of VM that wake-up is
// paid by the writer in its own CPU time, and it is large, so bench:gateway measures it in every run: a gateway's
// answers wake wrk (asleep in epoll_wait on the load core) whenever wrk has nothing else to do, and a slower target
// leaves wrk idle more often (measure.ts counts the load core's wake-ups per request).
//
//   node --import tsx bench/gateway/wake-probe.ts [--writes 1500] [--gap-us 1000] [--rounds 3]
//
// Roles (one script, so the probe needs nothing but Node): the writer is pinned to the gateway's core and spawns the
// reader pinned to the load core. An asleep reader reads through Node's event loop and so sleeps in epoll_wait
// between messages; an awake reader reads the socket's descriptor in a busy loop and never sleeps. The writer sends
// 64-byte messages with a busy gap between them and reads its own CPU time around each write. The gap must be long
// enough for an asleep reader to be back in epoll_wait before the next message: at 200 µs Node's reader often was
// not yet (half the writes cost no more than to a running reader); at 1 ms every write pays, as with a reader in C.
import { spawn } from 'node:child_process';
import { readSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { spawnPinned, waitForLine } from './procs.js';
import { GATEWAY_CORE, LOAD_CORE } from './scenarios.js';
import { median } from './stats.js';

export type ReaderState = 'asleep' | 'awake';

export interface WakeCost {
  /** Mean CPU per write, in µs, to a reader asleep on the other core (the median of the rounds). */
  asleepUs: number;
  /** The same to a reader that is running. */
  awakeUs: number;
}

const SCRIPT = fileURLToPath(import.meta.url);
/** tsx by absolute URL, so the roles start from any working directory (as peers.ts starts the floor). */
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const RESULT_LINE = /^WAKE_PROBE (\{.*\})$/m;

/** Runs the writer (pinned to the gateway core) for each reader state in turn, `rounds` times, alternating. */
export async function measureWakeCost(options: { writes?: number; gapUs?: number; rounds?: number } = {}): Promise<WakeCost> {
  const { writes = 1500, gapUs = 1000, rounds = 3 } = options;
  const samples: Record<ReaderState, number[]> = { asleep: [], awake: [] };
  for (let round = 0; round < rounds; round++) {
    // Alternating order, so a drift in the machine's load does not favour one state.
    const order: ReaderState[] = round % 2 === 0 ? ['asleep', 'awake'] : ['awake', 'asleep'];
    for (const state of order) samples[state].push(await runWriter(state, writes, gapUs));
  }
  return { asleepUs: median(samples.asleep), awakeUs: median(samples.awake) };
}

async function runWriter(state: ReaderState, writes: number, gapUs: number): Promise<number> {
  const child = spawnPinned(GATEWAY_CORE, process.execPath, ['--import', TSX, SCRIPT, '--role', 'writer', '--state', state, '--writes', String(writes), '--gap-us', String(gapUs)]);
  const [, json] = await waitForLine(child, RESULT_LINE, 60_000, `wake probe (${state} reader)`);
  return (JSON.parse(json as string) as { cpuUsPerWrite: number }).cpuUsPerWrite;
}

/** Writer role: serve one reader, write to it, print the mean CPU per write. */
function writer(state: ReaderState, writes: number, gapUs: number): void {
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    // Let the reader settle into its loop (or its first epoll_wait) before the first message.
    setTimeout(() => {
      const message = Buffer.alloc(64, 0x78);
      let cpuUs = 0;
      for (let i = 0; i < writes; i++) {
        const before = process.cpuUsage();
        socket.write(message);
        const spent = process.cpuUsage(before);
        cpuUs += spent.user + spent.system;
        const until = performance.now() + gapUs / 1000;
        while (performance.now() < until) {
          // Busy: the writer must not sleep itself, or its own wake-up would be counted in the next write.
        }
      }
      process.stdout.write(`WAKE_PROBE ${JSON.stringify({ state, writes, cpuUsPerWrite: cpuUs / writes })}\n`);
      socket.destroy();
      readerProcess.kill();
      server.close();
    }, 300);
  });
  let readerProcess: ReturnType<typeof spawn>;
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    readerProcess = spawn('taskset', ['-c', String(LOAD_CORE), process.execPath, '--import', TSX, SCRIPT, '--role', 'reader', '--state', state, '--port', String(port)], { stdio: 'ignore' });
  });
}

/** Reader role: connect and read until the writer hangs up, asleep between messages or never. */
function reader(state: ReaderState, port: number): void {
  const socket: Socket = connect(port, '127.0.0.1', () => {
    if (state === 'asleep') return;
    // The descriptor libuv reads from (non-blocking): read it directly, in a loop that never yields, so the process
    // never sleeps. Node's own reading stops with the event loop, which this loop never returns to.
    const fd = (socket as unknown as { _handle: { fd: number } })._handle.fd;
    const buffer = Buffer.alloc(65_536);
    for (;;) {
      try {
        if (readSync(fd, buffer) === 0) process.exit(0);
      } catch {
        // EAGAIN: nothing yet.
      }
    }
  });
  socket.on('data', () => undefined);
  socket.on('close', () => process.exit(0));
  socket.on('error', () => process.exit(0));
}

function main(): void {
  const { values } = parseArgs({
    options: {
      role: { type: 'string' },
      state: { type: 'string', default: 'asleep' },
      port: { type: 'string' },
      writes: { type: 'string', default: '1500' },
      'gap-us': { type: 'string', default: '1000' },
      rounds: { type: 'string', default: '3' },
    },
  });
  const state: ReaderState = values.state === 'awake' ? 'awake' : 'asleep';
  if (values.role === 'writer') return writer(state, Number(values.writes), Number(values['gap-us']));
  if (values.role === 'reader') return reader(state, Number(values.port));
  void measureWakeCost({ writes: Number(values.writes), gapUs: Number(values['gap-us']), rounds: Number(values.rounds) }).then((cost) => {
    process.stdout.write(
      `a write to a reader asleep on the other core: ${cost.asleepUs.toFixed(1)} µs of the writer's CPU; to a running reader: ${cost.awakeUs.toFixed(1)} µs\n`,
    );
  });
}

if (process.argv[1] === SCRIPT) main();
