// A quick A/B of gateway CPU per request for builds on a busy machine: each build's gateway (pinned to the gateway
// core) gets a warm-up and then a fixed number of requests, and its user+system CPU over exactly those requests is
// read from /proc/PID/stat (CPU time, not wall time, so other load on the machine distorts it much less). Builds
// alternate A, B, A, B… and the median per build is printed. The quiet-machine figures come from bench:gateway.
//
//   node --import tsx bench/gateway/cpu-ab.ts --dist A_DIR --dist B_DIR [--requests 3000] [--warmup 3000] [--warmup-connections N]
//     [--rounds 3] [--connections 1] [--limits] [--stream] [--stack sqlite --stack postgres+redis] [--floor]
//     [--strace] [--threads] [--limits-delta] [--key-limits JSON] [--perf DIR] [--wrk-latency S] [--first-chunk S] [--gc]
//     [--node-flag F ...] [--idle S] [--wrk-window S]
//
// `--floor`: the bare proxy (floor.ts) is one more variant, driven the same way, so a build's CPU is read against
// the floor's from one invocation. `--strace`: the measured requests also run under `strace -c -f` attached to the
// process, and its system calls per request are printed (strace slows the process, so those rounds' CPU figures
// are not comparable with untraced ones; the call counts are what it is for). `--threads`: CPU per request of each
// thread of the process (main, libuv threadpool, V8 workers), from /proc/PID/task.
//
// `--perf DIR`: the measured requests run under `perf record` (every thread, cpu-clock samples; the gateway, and the
// floor with --floor, get --perf-prof so JavaScript functions have names, see perf.ts), one DIR/<build>-r<round>.data
// per round, and the top symbols by self time are printed as CPU µs per request (compare two builds, or a plain and a
// --limits run).
//
// `--limits-delta`: each round's gateway gets two keys, one plain and one with the benchmark's limits and budgets,
// and drives them in alternating windows (plain, limited, plain, limited…) in the same process, so the CPU the
// limits add is read as a paired difference, free of the process-to-process spread between separate gateways.
// `--key-limits '{"rpm":1000000}'` gives the limited key (with --limits or --limits-delta) these limits instead of
// the benchmark's, to read what one kind of limit costs.
//
// `--gc`: the gateway (and the floor) run with V8's `--trace-gc-nvp`, and each window reports the JavaScript heap allocated per
// request, the scavenges and full collections, and the main thread's GC pauses (gc-tally.ts).
// `--node-flag F` (repeatable): one more Node or V8 flag for the gateway and the floor (an experiment with a V8
// setting, or `--import` of a probe), after the benchmark's own.
// `--idle S`: the gateway sits idle for S seconds between its warm-up and the measured window, as each target does
// in bench:gateway while the others are measured (to see whether that idleness, e.g. V8 shrinking an idle heap,
// changes the window).
// `--warmup-connections N`: the warm-up runs at N connections instead of --connections, e.g. a c=64 load before a c=1
// measurement, as bench:gateway's c=1 streamed point follows its c=64 point on the same gateway.
//
// `--wrk-latency S`: after its CPU window, each round also runs wrk (pinned to the load core, as bench:gateway does)
// for S seconds at the same connection count and reports its p50 latency; at --connections 1 that is the figure
// behind the added p50 at c=1, read for two builds and the floor in one invocation.
//
// `--wrk-window S`: the measured window is wrk (pinned to the load core, as bench:gateway drives every target) for S
// seconds instead of --requests requests from this process's undici pool; CPU per request is read over the requests
// wrk completed. The two clients load the gateway differently (wrk is cheaper, so the gateway's core saturates),
// and bench:gateway's figures come from wrk. The window also reports the load core's wake-ups per request (how often
// an answer had to wake wrk, which the gateway pays for: see wake-probe.ts).
//
// `--first-chunk S`: after its CPU window (and wrk's, with --wrk-latency), each round also runs the raw-socket
// streaming client (sse-client.ts, as bench:gateway's first-chunk windows) at c=1 with a streamed body, S seconds to
// warm up and S seconds measured, and reports its p50 time to first chunk: the figure behind the added first chunk at c=1, for builds and the floor in
// one invocation. With --floor, each build's p50 is also read against the floor's of the same round.
//
// `--stack` (repeatable): what each build's gateway runs on — `sqlite` (the default, embedded store and in-process
// limits) or `postgres+redis` (a throw-away PostgreSQL and Redis, see stack.ts). Every build × stack pair is one
// variant; on postgres+redis the Redis commands per measured request are printed too.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { spawn, type ChildProcess } from 'node:child_process';
import { Pool } from 'undici';
import { startFloor } from './peers.js';
import { GcTally, gcNote } from './gc-tally.js';
import { attachPerf, perfSymbols } from './perf.js';
import { cpuTimes, pinSelf, spawnPinned, stopAll, stopChild, waitForLine, wakeupsOn } from './procs.js';
import { stackRedis, startStack, stopStacks, type Stack } from './stack.js';
import { chatBody, CHAT_PATH, GATEWAY_CORE, GATEWAY_NODE_FLAGS, GATEWAY_SCENARIOS, LOAD_CORE } from './scenarios.js';
import { median } from './stats.js';
import { runStreamClient } from './sse-client.js';
import { runWrk } from './wrk.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

async function drive(pool: Pool, key: string, body: Buffer, requests: number, connections: number): Promise<void> {
  let next = 0;
  const one = async (): Promise<void> => {
    while (next < requests) {
      next++;
      const res = await pool.request({
        method: 'POST',
        path: CHAT_PATH,
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body,
      });
      const text = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`gateway answered ${res.statusCode}: ${text.slice(0, 200)}`);
    }
  };
  await Promise.all(Array.from({ length: connections }, one));
}

type StackChoice = 'sqlite' | Stack;

interface Variant {
  /** A build's dist directory, or 'floor' for the bare proxy. */
  dist: string;
  stack: StackChoice;
}

const FLOOR_VARIANT = 'floor';

interface RoundOptions {
  requests: number;
  warmup: number;
  /** Connections of the warm-up (defaults to `connections`). */
  warmupConnections: number;
  connections: number;
  limits: boolean;
  stream: boolean;
  strace: boolean;
  /** --gc: allocation and collections per request, from V8's GC trace on the gateway's stdout. */
  gc: boolean;
  /** --node-flag: more flags for the gateway and the floor. */
  nodeFlags: readonly string[];
  /** --idle: ms between the warm-up and the measured window. */
  idleMs: number;
  threads: boolean;
  limitsDelta: boolean;
  /** --key-limits JSON: the limits of the limited key instead of the benchmark's (to see what each limit costs). */
  keyLimits: Record<string, unknown> | null;
  /** --wrk-latency: wrk's window and the request body it sends, or null. */
  wrkLatency: { seconds: number; bodyFile: string } | null;
  /** --wrk-window: the measured window is wrk for this many seconds (with this body), not --requests from undici. */
  wrkWindow: { seconds: number; bodyFile: string } | null;
  /** --first-chunk: the streaming client's window in seconds, or null. */
  firstChunkSeconds: number | null;
  /** --perf: where this round's recording goes (set per round), or null. */
  perfFile: string | null;
}

/** Node flags of a process recorded with --perf: a JIT dump (in its cwd), so JavaScript frames have names (perf.ts). */
const PERF_NODE_FLAGS: readonly string[] = ['--perf-prof', '--interpreted-frames-native-stack'];

/** Windows per key in a --limits-delta round: enough alternations that a burst of machine noise hits both keys. */
const DELTA_WINDOWS = 8;

/** Attaches `strace -c -f` to a process; `stop()` detaches and returns its summary table. */
function attachStrace(pid: number): { ready: Promise<void>; stop(): Promise<string> } {
  const tracer: ChildProcess = spawn('strace', ['-c', '-f', '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let text = '';
  tracer.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return {
    // strace prints nothing on attach with -c; give it a moment to seize every thread.
    ready: sleep(300),
    stop: () =>
      new Promise((resolve) => {
        tracer.once('exit', () => resolve(text));
        tracer.kill('SIGINT');
      }),
  };
}

/** CPU (user + system, µs) per thread name of a process, from /proc/PID/task/TID/{comm,stat}. */
function threadCpu(pid: number): Map<string, number> {
  const byName = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      // Node names few of its threads: the main thread is told apart by its id (the process id).
      const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const name = Number(tid) === pid ? 'main' : comm === 'node' ? 'other threads' : comm;
      const { userUs, systemUs } = cpuTimes(pid, Number(tid));
      byName.set(name, (byName.get(name) ?? 0) + userUs + systemUs);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return byName;
}

/** `calls` column per syscall of strace -c's table, divided by the request count. */
function syscallsPerRequest(table: string, requests: number): string {
  const rows: string[] = [];
  for (const line of table.split('\n')) {
    const cells = line.trim().split(/\s+/);
    // % time, seconds, usecs/call, calls, [errors,] syscall
    if (cells.length < 5 || !/^\d/.test(cells[0] ?? '')) continue;
    const name = cells[cells.length - 1] as string;
    const calls = Number(cells[3]);
    if (name === 'total' || !Number.isFinite(calls)) continue;
    rows.push(`${name} ${(calls / requests).toFixed(2)}`);
  }
  return rows.join(', ');
}

/** Calls per command name from Redis INFO commandstats. */
async function redisCommandCalls(): Promise<Map<string, number> | null> {
  const redis = await stackRedis();
  if (!redis) return null;
  const info = await redis.command('INFO', 'commandstats');
  const calls = new Map<string, number>();
  for (const match of info.matchAll(/cmdstat_([a-z|]+):calls=(\d+)/g)) calls.set(match[1] as string, Number(match[2]));
  return calls;
}

/** What one round measured: CPU µs per request (or added by limits, with --limits-delta), and the median latency. */
interface RoundResult {
  cpuUs: number;
  /** wrk's p50 latency, µs (null without --wrk-latency, and for --limits-delta). */
  latencyP50Us: number | null;
  /** The streaming client's p50 time to first chunk at c=1, µs (null without --first-chunk, and for --limits-delta). */
  firstChunkP50Us: number | null;
}

/** One round for one build: a fresh gateway, warm-up, then CPU µs per request over `requests` requests. */
async function round(variant: Variant, work: string, upstreamUrl: string, upstreamKey: string, options: RoundOptions): Promise<RoundResult> {
  // Gateway and floor start alike: under --perf with a JIT dump, written to the recording's directory.
  const extraFlags = [...options.nodeFlags, ...(options.gc ? ['--trace-gc-nvp'] : [])];
  const launch = options.perfFile ? { extraNodeFlags: [...PERF_NODE_FLAGS, ...extraFlags], cwd: path.dirname(options.perfFile) } : { extraNodeFlags: extraFlags, cwd: ROOT };
  if (variant.dist === FLOOR_VARIANT) {
    const floor = await startFloor(ROOT, upstreamUrl, upstreamKey, launch);
    const pid = floor.pid as number; // startFloor throws when the child has none
    try {
      return await measure(pid, floor.origin, floor.key, options, options.gc && floor.stdout ? new GcTally(floor.stdout) : null);
    } finally {
      process.kill(pid, 'SIGTERM');
      for (let i = 0; i < 100 && existsSync(`/proc/${pid}`); i++) await sleep(30);
    }
  }
  const token = `kwbench_${randomBytes(16).toString('hex')}`;
  const stackEnv = variant.stack === 'sqlite' ? {} : await startStack(variant.stack);
  const child = spawnPinned(
    GATEWAY_CORE,
    process.execPath,
    [...GATEWAY_NODE_FLAGS, ...launch.extraNodeFlags, path.join(variant.dist, 'cli/bin.js'), 'serve', '--port', '0', '--data', path.join(work, randomBytes(4).toString('hex'))],
    { cwd: launch.cwd, env: { ...process.env, ...stackEnv, KEYWARDEN_ADMIN_TOKEN: token, KEYWARDEN_LOG_LEVEL: 'warn', KEYWARDEN_OUTBOUND_ALLOW: '127.0.0.1' } },
  );
  try {
    const [, origin] = await waitForLine(child, /listening on (http:\/\/\S+)/, 60_000, 'gateway');
    const gc = options.gc && child.stdout ? new GcTally(child.stdout) : null;
    if (!gc) child.stdout?.resume();
    child.stderr?.resume();
    const admin = async (route: string, body: unknown): Promise<Record<string, unknown>> => {
      const res = await fetch(`${origin}/admin/v1${route}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (!res.ok) throw new Error(`${route}: ${res.status}`);
      return (await res.json()) as Record<string, unknown>;
    };
    await admin('/upstreams', { name: 'fake', provider: 'openai-compatible', base_url: upstreamUrl, keys: [upstreamKey] });
    const limited = options.keyLimits ? { limits: options.keyLimits } : (GATEWAY_SCENARIOS.find((s) => s.id === 'limits')?.key ?? {});
    const created = await admin('/keys', { name: 'ab', ...(options.limits ? limited : {}) });
    if (options.limitsDelta) {
      const withLimits = await admin('/keys', { name: 'ab-limits', ...limited });
      return { cpuUs: await measureLimitsDelta(child.pid as number, origin as string, created.key as string, withLimits.key as string, options), latencyP50Us: null, firstChunkP50Us: null };
    }
    return await measure(child.pid as number, origin as string, created.key as string, options, gc);
  } finally {
    await stopChild(child);
  }
}

/**
 * The measured window's load: `options.requests` requests from the undici pool, or with --wrk-window, wrk (as
 * bench:gateway drives its targets) for that many seconds. Returns the number of requests served.
 */
async function measuredLoad(pool: Pool, origin: string, key: string, body: Buffer, options: RoundOptions): Promise<number> {
  if (!options.wrkWindow) {
    const started = performance.now();
    await drive(pool, key, body, options.requests, options.connections);
    process.stderr.write(`[cpu-ab] undici window: ${Math.round(options.requests / ((performance.now() - started) / 1000))} req/s\n`);
    return options.requests;
  }
  const wakeupsBefore = wakeupsOn(LOAD_CORE);
  const wrk = await runWrk({ core: LOAD_CORE, origin, path: CHAT_PATH, key, bodyFile: options.wrkWindow.bodyFile, connections: options.connections, durationS: options.wrkWindow.seconds });
  const wakeups = (wakeupsOn(LOAD_CORE) - wakeupsBefore) / wrk.requests;
  const failed = Object.values(wrk.errors).reduce((a, b) => a + b, 0);
  if (failed > 0) throw new Error(`wrk window at ${origin}: ${failed} errors in ${wrk.requests} requests`);
  process.stderr.write(
    `[cpu-ab] wrk window: ${wrk.requests} requests, ${Math.round(wrk.requests / (wrk.durationUs / 1e6))} req/s, p50 ${wrk.latencyUs.p50} µs, ${wakeups.toFixed(2)} load-core wake-ups per request\n`,
  );
  return wrk.requests;
}

/** Warm-up, then CPU µs per request of process `pid` over `requests` requests (and Redis / syscall counts). */
async function measure(pid: number, origin: string, key: string, options: RoundOptions, gc: GcTally | null = null): Promise<RoundResult> {
  const body = chatBody(options.stream);
  const pool = new Pool(origin, { connections: Math.max(options.connections, options.warmupConnections) });
  try {
    await drive(pool, key, body, options.warmup, options.warmupConnections);
    await sleep(Math.max(200, options.idleMs));
    const tracer = options.strace ? attachStrace(pid) : null;
    await tracer?.ready;
    const commandsBefore = await redisCommandCalls();
    const threadsBefore = options.threads ? threadCpu(pid) : null;
    const recorder = options.perfFile ? attachPerf(pid, options.perfFile) : null;
    await recorder?.ready;
    const gcBefore = gc?.snapshot();
    const before = cpuTimes(pid);
    const requests = await measuredLoad(pool, origin, key, body, options);
    await sleep(150); // the usage flush of the last batch lands inside the window (and the GC trace's last lines)
    const after = cpuTimes(pid);
    if (gc && gcBefore) process.stderr.write(`[cpu-ab] GC: ${gcNote(gcBefore, gc.snapshot(), requests)}\n`);
    if (recorder && options.perfFile) {
      await recorder.stop();
      const top = perfSymbols(options.perfFile, requests).slice(0, 40);
      process.stderr.write(`[cpu-ab] perf, self CPU µs per request (${options.perfFile}):\n${top.map((s) => `  ${s.usPerRequest.toFixed(2).padStart(6)}  ${s.symbol}`).join('\n')}\n`);
    }
    if (threadsBefore) {
      const perThread = [...threadCpu(pid)]
        .map(([name, us]) => [name, (us - (threadsBefore.get(name) ?? 0)) / requests] as const)
        .filter(([, us]) => us > 0)
        .map(([name, us]) => `${name} ${us.toFixed(1)}`);
      process.stderr.write(`[cpu-ab] CPU µs per request by thread: ${perThread.join(', ')}\n`);
    }
    const commandsAfter = await redisCommandCalls();
    if (tracer) process.stderr.write(`[cpu-ab] syscalls per request: ${syscallsPerRequest(await tracer.stop(), requests)}\n`);
    if (commandsBefore && commandsAfter) {
      const perRequest = [...commandsAfter]
        .map(([name, calls]) => [name, (calls - (commandsBefore.get(name) ?? 0)) / requests] as const)
        .filter(([name, calls]) => calls > 0 && (name === 'evalsha' || name === 'eval'))
        .map(([name, calls]) => `${name} ${calls.toFixed(2)}`);
      process.stderr.write(`[cpu-ab] redis commands per request: ${perRequest.join(', ') || 'none'}\n`);
    }
    const userUs = (after.userUs - before.userUs) / requests;
    const systemUs = (after.systemUs - before.systemUs) / requests;
    process.stderr.write(`[cpu-ab] user ${userUs.toFixed(1)} + system ${systemUs.toFixed(1)} µs/request\n`);
    let latencyP50Us: number | null = null;
    if (options.wrkLatency) {
      const wrk = await runWrk({ core: LOAD_CORE, origin, path: CHAT_PATH, key, bodyFile: options.wrkLatency.bodyFile, connections: options.connections, durationS: options.wrkLatency.seconds });
      latencyP50Us = wrk.latencyUs.p50;
      process.stderr.write(`[cpu-ab] wrk: p50 ${latencyP50Us} µs, ${Math.round(wrk.requests / (wrk.durationUs / 1e6))} req/s\n`);
    }
    const firstChunkP50Us = options.firstChunkSeconds === null ? null : await firstChunkP50(origin, key, options.firstChunkSeconds);
    return { cpuUs: userUs + systemUs, latencyP50Us, firstChunkP50Us };
  } finally {
    await pool.close();
  }
}

/**
 * --first-chunk: p50 time to first chunk of streamed requests at c=1 over `seconds`, from the raw-socket client,
 * after as long a warm-up of the same requests: a gateway warmed on non-streamed requests only runs its streaming
 * code cold for the first few thousand streams (a first chunk about 100 µs later at c=1 here), which the measured
 * window must not include. The floor gets the same warm-up.
 */
async function firstChunkP50(origin: string, key: string, seconds: number): Promise<number> {
  const { hostname, port } = new URL(origin);
  const stream = { host: hostname, port: Number(port), path: CHAT_PATH, key, body: chatBody(true), connections: 1, durationMs: seconds * 1000, maxRequests: 1_000_000 };
  await runStreamClient(stream);
  const run = await runStreamClient(stream);
  if (run.errors > 0 || run.ttfcUs.length === 0) throw new Error(`first chunk at ${origin}: ${run.errors} errors in ${run.requests} requests`);
  const p50 = median(run.ttfcUs);
  process.stderr.write(`[cpu-ab] first chunk c=1: p50 ${p50.toFixed(0)} µs over ${run.requests} requests\n`);
  return p50;
}

/**
 * --limits-delta: CPU µs per request the limited key costs over the plain one, from alternating windows in one
 * process. Both keys are warmed up first; each window's CPU is read from /proc around exactly its requests.
 */
async function measureLimitsDelta(pid: number, origin: string, plainKey: string, limitedKey: string, options: RoundOptions): Promise<number> {
  const body = chatBody(options.stream);
  const pool = new Pool(origin, { connections: Math.max(options.connections, options.warmupConnections) });
  try {
    await drive(pool, plainKey, body, options.warmup, options.warmupConnections);
    await drive(pool, limitedKey, body, options.warmup, options.warmupConnections);
    await sleep(200);
    const perWindow = Math.max(options.connections, Math.floor(options.requests / DELTA_WINDOWS));
    const cpu = { plain: 0, limited: 0 };
    const system = { plain: 0, limited: 0 };
    // --threads: the same split per thread (main, libuv threadpool, V8 workers), summed over each key's windows.
    const byThread = { plain: new Map<string, number>(), limited: new Map<string, number>() };
    // --perf: one recording per window (perf cannot tell the keys apart within one), summed per key afterwards.
    const perfFiles = { plain: [] as string[], limited: [] as string[] };
    for (let w = 0; w < DELTA_WINDOWS; w++) {
      // Alternate which key goes first, so neither always follows the other's settlement batch.
      const order: Array<keyof typeof cpu> = w % 2 === 0 ? ['plain', 'limited'] : ['limited', 'plain'];
      for (const which of order) {
        const threadsBefore = options.threads ? threadCpu(pid) : null;
        const perfFile = options.perfFile ? options.perfFile.replace(/\.data$/, `-${which}-w${w + 1}.data`) : null;
        const recorder = perfFile ? attachPerf(pid, perfFile) : null;
        await recorder?.ready;
        const before = cpuTimes(pid);
        await drive(pool, which === 'plain' ? plainKey : limitedKey, body, perWindow, options.connections);
        await sleep(60); // the window's usage and settlement batches (20 ms) land inside it
        const after = cpuTimes(pid);
        if (recorder && perfFile) {
          await recorder.stop();
          perfFiles[which].push(perfFile);
        }
        cpu[which] += after.userUs - before.userUs + after.systemUs - before.systemUs;
        system[which] += after.systemUs - before.systemUs;
        if (threadsBefore) for (const [name, us] of threadCpu(pid)) byThread[which].set(name, (byThread[which].get(name) ?? 0) + us - (threadsBefore.get(name) ?? 0));
      }
    }
    const requests = perWindow * DELTA_WINDOWS;
    const plain = cpu.plain / requests;
    const limited = cpu.limited / requests;
    const systemAdded = (system.limited - system.plain) / requests;
    process.stderr.write(`[cpu-ab] plain ${plain.toFixed(1)}, limited ${limited.toFixed(1)} µs/request: limits add ${(limited - plain).toFixed(1)} (of which system ${systemAdded.toFixed(1)})\n`);
    if (perfFiles.plain.length > 0) {
      const perKey = (files: string[]): Map<string, number> => {
        const sums = new Map<string, number>();
        for (const file of files) for (const { symbol, usPerRequest } of perfSymbols(file, requests)) sums.set(symbol, (sums.get(symbol) ?? 0) + usPerRequest);
        return sums;
      };
      const plainSymbols = perKey(perfFiles.plain);
      const limitedSymbols = perKey(perfFiles.limited);
      const names = new Set([...plainSymbols.keys(), ...limitedSymbols.keys()]);
      const rows = [...names].map((name) => ({ name, added: (limitedSymbols.get(name) ?? 0) - (plainSymbols.get(name) ?? 0) })).sort((a, b) => b.added - a.added);
      const sampled = (m: Map<string, number>): number => [...m.values()].reduce((sum, us) => sum + us, 0);
      process.stderr.write(
        `[cpu-ab] perf: sampled ${sampled(plainSymbols).toFixed(1)} (plain) and ${sampled(limitedSymbols).toFixed(1)} (limited) µs/request; largest additions by limits, self µs per request:\n` +
          `${rows.slice(0, 40).map((r) => `  ${r.added.toFixed(2).padStart(6)}  ${r.name}`).join('\n')}\n`,
      );
    }
    if (options.threads) {
      const names = new Set([...byThread.plain.keys(), ...byThread.limited.keys()]);
      const added = [...names].map((name) => `${name} ${(((byThread.limited.get(name) ?? 0) - (byThread.plain.get(name) ?? 0)) / requests).toFixed(1)}`);
      process.stderr.write(`[cpu-ab] added by limits, per thread (µs/request): ${added.join(', ')}\n`);
    }
    return limited - plain;
  } finally {
    await pool.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      dist: { type: 'string', multiple: true },
      requests: { type: 'string', default: '3000' },
      warmup: { type: 'string', default: '3000' },
      'warmup-connections': { type: 'string' },
      rounds: { type: 'string', default: '3' },
      connections: { type: 'string', default: '1' },
      limits: { type: 'boolean', default: false },
      stream: { type: 'boolean', default: false },
      stack: { type: 'string', multiple: true },
      floor: { type: 'boolean', default: false },
      strace: { type: 'boolean', default: false },
      gc: { type: 'boolean', default: false },
      'node-flag': { type: 'string', multiple: true },
      idle: { type: 'string', default: '0' },
      threads: { type: 'boolean', default: false },
      'limits-delta': { type: 'boolean', default: false },
      perf: { type: 'string' },
      'key-limits': { type: 'string' },
      'wrk-latency': { type: 'string' },
      'wrk-window': { type: 'string' },
      'first-chunk': { type: 'string' },
    },
  });
  // As in bench:gateway: this client shares the load core with the fake upstream, off the gateway's core.
  pinSelf(LOAD_CORE);
  const dists = (values.dist ?? [path.join(ROOT, 'dist')]).map((d) => path.resolve(d));
  const stacks = (values.stack ?? ['sqlite']).map((name): StackChoice => {
    if (name !== 'sqlite' && name !== 'postgres+redis') throw new Error(`--stack: expected sqlite or postgres+redis, got ${name}`);
    return name;
  });
  const variants: Variant[] = dists.flatMap((dist) => stacks.map((stack) => ({ dist, stack })));
  if (values.floor) variants.push({ dist: FLOOR_VARIANT, stack: 'sqlite' });
  const nameOf = (v: Variant): string => v.dist === FLOOR_VARIANT ? 'floor' : `${path.relative(ROOT, v.dist) || v.dist}${stacks.length > 1 || v.stack !== 'sqlite' ? ` [${v.stack}]` : ''}`;
  const options = {
    requests: Number(values.requests),
    warmup: Number(values.warmup),
    warmupConnections: Number(values['warmup-connections'] ?? values.connections),
    connections: Number(values.connections),
    limits: values.limits,
    stream: values.stream,
    strace: values.strace,
    gc: values.gc,
    nodeFlags: values['node-flag'] ?? [],
    idleMs: Number(values.idle) * 1000,
    threads: values.threads,
    limitsDelta: values['limits-delta'],
    keyLimits: values['key-limits'] === undefined ? null : (JSON.parse(values['key-limits']) as Record<string, unknown>),
    wrkLatency: null as RoundOptions['wrkLatency'],
    wrkWindow: null as RoundOptions['wrkWindow'],
    firstChunkSeconds: values['first-chunk'] === undefined ? null : Number(values['first-chunk']),
    perfFile: null as string | null,
  };
  const perfDir = values.perf === undefined ? null : path.resolve(values.perf);
  if (perfDir) mkdirSync(perfDir, { recursive: true });
  const rounds = Number(values.rounds);
  const work = mkdtempSync(path.join(os.tmpdir(), 'kw-cpu-ab-'));
  if (values['wrk-latency'] !== undefined || values['wrk-window'] !== undefined) {
    // The body wrk sends, for both of its uses.
    const bodyFile = path.join(work, 'body.json');
    writeFileSync(bodyFile, chatBody(options.stream));
    if (values['wrk-latency'] !== undefined) options.wrkLatency = { seconds: Number(values['wrk-latency']), bodyFile };
    if (values['wrk-window'] !== undefined) options.wrkWindow = { seconds: Number(values['wrk-window']), bodyFile };
  }
  try {
    const upstreamKey = `sk-bench-${randomBytes(24).toString('base64url')}`.slice(0, 41);
    const fake = spawnPinned(LOAD_CORE, process.execPath, ['--import', 'tsx', 'test/support/fake-openai-main.ts', '--port', '0', '--key', upstreamKey], { cwd: ROOT });
    const [upstreamUrl] = await waitForLine(fake, /^http:\/\/\S+\/v1$/m, 60_000, 'fake upstream');
    fake.stdout?.resume();
    fake.stderr?.resume();
    const samples = new Map<Variant, number[]>(variants.map((v) => [v, []]));
    const latencySamples = new Map<Variant, number[]>(variants.map((v) => [v, []]));
    const firstChunkSamples = new Map<Variant, number[]>(variants.map((v) => [v, []]));
    for (let r = 0; r < rounds; r++) {
      for (const variant of r % 2 === 0 ? variants : [...variants].reverse()) {
        const perfFile = perfDir ? path.join(perfDir, `${path.basename(nameOf(variant)).replace(/[^\w.-]+/g, '_')}${options.limits ? '-limits' : ''}-r${r + 1}.data`) : null;
        const { cpuUs, latencyP50Us, firstChunkP50Us } = await round(variant, work, upstreamUrl, upstreamKey, { ...options, perfFile });
        samples.get(variant)?.push(cpuUs);
        if (latencyP50Us !== null) latencySamples.get(variant)?.push(latencyP50Us);
        if (firstChunkP50Us !== null) firstChunkSamples.get(variant)?.push(firstChunkP50Us);
        process.stderr.write(`[cpu-ab] round ${r + 1} ${nameOf(variant)}: ${cpuUs.toFixed(1)} µs/request\n`);
      }
    }
    const what = `${options.stream ? 'streamed' : 'non-streamed'}, c=${options.connections}${options.limits ? ', key with limits and budgets' : ''}, ${options.wrkWindow ? `${options.wrkWindow.seconds} s of wrk` : `${options.requests} requests`} × ${rounds} rounds`;
    const figure = options.limitsDelta ? 'µs CPU/request added by limits and budgets' : 'µs CPU/request';
    for (const [variant, list] of samples) {
      process.stdout.write(`${nameOf(variant)}: median ${median(list).toFixed(1)} ${figure} (${list.map((x) => x.toFixed(1)).join(', ')}) — ${what}\n`);
    }
    const floorVariant = variants.find((v) => v.dist === FLOOR_VARIANT);
    const latencyLines = (label: string, perVariant: Map<Variant, number[]>): void => {
      const floorList = floorVariant ? (perVariant.get(floorVariant) ?? []) : [];
      for (const [variant, list] of perVariant) {
        if (list.length === 0) continue;
        // Rounds alternate the variants, so a build's round r and the floor's round r ran back to back.
        const added = variant !== floorVariant && floorList.length === list.length ? `; over the floor ${median(list.map((x, i) => x - (floorList[i] as number))).toFixed(1)} µs (median of per-round differences)` : '';
        process.stdout.write(`${nameOf(variant)}: median ${label} ${median(list).toFixed(1)} µs (${list.map((x) => x.toFixed(1)).join(', ')})${added}\n`);
      }
    };
    latencyLines('latency p50', latencySamples);
    latencyLines('first chunk p50, c=1', firstChunkSamples);
  } finally {
    await stopAll();
    await stopStacks();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch(async (err: unknown) => {
  process.stderr.write(`cpu-ab: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  await stopAll();
  await stopStacks();
  process.exitCode = 1;
});
