// `npm run bench:gateway`: direct (client → fake upstream) vs proxied (client → keywarden → fake upstream), side
// by side in one run, with two references measured the same way: the floor (a bare Node proxy, floor.ts) and
// Portkey's gateway (peers.ts). The gateways run on core 1; the fake upstream, wrk, the streaming client and this
// orchestrator share core 0. Every child is started here and stopped here, also on failure or Ctrl-C.
//
// Every point is measured `--reps` times, each repetition one window of `--duration` seconds per target (plus one
// first-chunk window of `--ttfc-duration` per target at the streamed points). Some pairs are then measured again
// within the same repetition in four alternating half-length windows, so a drift of the machine's speed hits both
// sides alike: a limits scenario's key and a plain key on its gateway at c=64 (PAIRED_WINDOWS_POINT), and, when the
// floor is measured, the floor and the first scenario at json-c64 (CPU and throughput, PAIRED_FLOOR_C64_POINT), at
// json-c1 and, for the first chunk, at sse-c1 (PAIRED_P50_POINT, PAIRED_TTFC_POINT). The paired verdicts read only
// those windows. A window that follows one of another target, point or client starts after REWARM_S seconds of
// unrecorded load on its own target from its own client (rewarm.ts: a target back from idling is slow at first here).
//
//   node --import tsx bench/gateway/run.ts [--duration 3] [--ttfc-duration 2] [--reps 5] [--scenarios a,b] [--no-readme]
//     [--dist DIR --out FILE]   (measure another build, e.g. a copy of an older commit's dist, into another file)
//     [--no-peers]              (skip the floor and Portkey)
//     [--no-portkey]            (skip Portkey only: the floor is still measured)
//     [--profile DIR]           (instead of the matrix: --cpu-prof the first scenario's gateway under wrk at c=1 and
//                                c=64, write the .cpuprofile files to DIR and print the top self-time functions)
import { execFileSync, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { measureTtfc, measureWrk, type Bodies, type GatewayUsage, type Processes, type Target, type TtfcSample, type WrkSample } from './measure.js';
import { killAllNow, memory, pinSelf, spawnPinned, stopAll, waitForLine } from './procs.js';
import { startStack, stopStacks } from './stack.js';
import { startFloor, startPortkey } from './peers.js';
import { formatTop, topSelfTime } from './profile.js';
import { markdown, noiseSummary, offMainThreadNote, pairedNote, summarize, updateReadme, verdicts, wakeupNote } from './report.js';
import { measureWakeCost } from './wake-probe.js';
import { REWARM_S, WindowSequence, type WindowClient } from './rewarm.js';
import { chatBody, CROSS_CORE_POINT, FLOOR_ID, PAIRED_FLOOR_C64_POINT, PAIRED_P50_POINT, PAIRED_POINT, PAIRED_TTFC_POINT, PAIRED_WINDOWS_POINT, GATEWAY_CORE, GATEWAY_NODE_FLAGS, GATEWAY_SCENARIOS, LOAD_CORE, LOAD_POINTS, PORTKEY_ID, type GatewayScenario, type LoadPoint } from './scenarios.js';
import { seedStore } from './seed.js';
import { median } from './stats.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** One-second warm-up windows per target and load point with more than one connection (see the warm-up below). */
const WARMUP_WINDOWS = 6;
/** This run's scratch directory (bodies, gateway data); removed on every exit path. */
let workDir: string | null = null;
/** Lines the gateways wrote to stderr (warn level and above). */
const gatewayLog: string[] = [];
const log = (message: string): void => void process.stderr.write(`[bench] ${message}\n`);

/**
 * Per request: the event loop's blocking waits, preemptions and run-queue wait, page faults, other threads' CPU, and
 * the load core's wake-ups.
 */
function schedNote({ sched, loadCoreWakeups }: GatewayUsage): string {
  if (!sched) return '';
  const wakeups = loadCoreWakeups === undefined ? '' : `, ${loadCoreWakeups.toFixed(2)} load-core wake-ups`;
  return ` (per request: ${sched.voluntarySwitches.toFixed(2)} waits, ${sched.involuntarySwitches.toFixed(3)} preemptions, ${sched.runQueueWaitUs.toFixed(1)} µs queued, ${sched.minorFaults.toFixed(2)} page faults, ${sched.offMainThreadUs.toFixed(1)} µs off the main thread${wakeups})`;
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(full));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(full).mtimeMs);
  }
  return newest;
}

/** Builds only when dist is missing or older than a source file. */
function buildIfNeeded(): void {
  const bin = path.join(ROOT, 'dist/cli/bin.js');
  let built = 0;
  try {
    built = statSync(bin).mtimeMs;
  } catch {
    // not built yet
  }
  if (built > newestMtime(path.join(ROOT, 'src'))) return;
  log('building (npm run build)');
  const result = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit', timeout: 180_000 });
  if (result.status !== 0) throw new Error('npm run build failed');
}

async function waitHealthy(origin: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${origin}/healthz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  throw new Error(`${origin}/healthz did not answer 200 within ${timeoutMs} ms`);
}

async function admin(origin: string, token: string, route: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${origin}/admin/v1${route}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`POST ${route}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

interface GatewayProcess {
  child: ChildProcess;
  origin: string;
  pid: number;
}

/** Starts `keywarden serve` on the gateway core over `dataDir` and waits until it answers /healthz. */
async function spawnGateway(
  scenario: GatewayScenario,
  dist: string,
  dataDir: string,
  token: string,
  nodeFlags: readonly string[],
  stackEnv: Record<string, string> = {},
): Promise<GatewayProcess> {
  const child = spawnPinned(
    GATEWAY_CORE,
    process.execPath,
    [...GATEWAY_NODE_FLAGS, ...nodeFlags, path.join(dist, 'cli/bin.js'), 'serve', '--port', '0', '--data', dataDir, ...(scenario.args ?? [])],
    { cwd: ROOT, env: { ...process.env, KEYWARDEN_ADMIN_TOKEN: token, KEYWARDEN_LOG_LEVEL: 'warn', KEYWARDEN_OUTBOUND_ALLOW: '127.0.0.1', ...scenario.env, ...stackEnv } },
  );
  const [, origin] = await waitForLine(child, /listening on (http:\/\/\S+)/, 15_000, `gateway ${scenario.id}`);
  if (origin === undefined || child.pid === undefined) throw new Error('gateway start-up line without an address');
  // Keep draining the gateway's output so a chatty log can never block it on a full pipe.
  child.stdout?.resume();
  // Log lines are counted, not echoed: wrk closing 64 busy connections at the end of a window makes the gateway
  // log each cancelled request, which would drown the progress output.
  child.stderr?.on('data', (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    for (const line of text.split('\n')) if (line.trim() !== '') gatewayLog.push(`${scenario.id}: ${line}`);
  });
  await waitHealthy(origin, 10_000);
  return { child, origin, pid: child.pid };
}

async function stopGateway(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await exited;
}

async function startGateway(
  scenario: GatewayScenario,
  dist: string,
  workDir: string,
  upstreamUrl: string,
  upstreamKey: string,
  nodeFlags: readonly string[] = [],
): Promise<Target & { child: ChildProcess; paired?: Target }> {
  const token = `kwbench_${randomBytes(16).toString('hex')}`;
  const dataDir = path.join(workDir, `${scenario.id}-${randomBytes(3).toString('hex')}`);
  const stackEnv = scenario.stack ? await startStack(scenario.stack) : {};
  let gateway = await spawnGateway(scenario, dist, dataDir, token, nodeFlags, stackEnv);
  const post = (route: string, body: unknown): Promise<Record<string, unknown>> => admin(gateway.origin, token, route, body);
  await post('/upstreams', { name: 'fake', provider: 'openai-compatible', base_url: upstreamUrl, keys: [upstreamKey] });
  const created = await post('/keys', { name: `bench-${scenario.id}`, ...scenario.key });
  if (typeof created.key !== 'string') throw new Error('key creation returned no secret');
  if (scenario.seed) {
    // The children's parent is a key of its own, not the measured one; the store is seeded while the gateway is
    // stopped (seed.ts), then the gateway starts again over it.
    const parent = await post('/keys', { name: 'bench parent of seeded children', limits: { budgets: [{ usd: 1_000_000, period: 'month' }] } });
    if (typeof parent.id !== 'string') throw new Error('parent key creation returned no id');
    await stopGateway(gateway.child);
    const seeded = await seedStore(dist, dataDir, parent.id, scenario.seed);
    log(`${scenario.id}: seeded ${scenario.seed.canaryKeys} canary and ${scenario.seed.childKeys} child keys in ${seeded.ms} ms`);
    gateway = await spawnGateway(scenario, dist, dataDir, token, nodeFlags, stackEnv);
  }
  let paired: Target | undefined;
  if (scenario.pairedPlainKey !== undefined) {
    const plain = await post('/keys', { name: `bench-${scenario.pairedPlainKey}` });
    if (typeof plain.key !== 'string') throw new Error('key creation returned no secret');
    paired = { id: scenario.pairedPlainKey, origin: gateway.origin, key: plain.key, pid: gateway.pid, points: [PAIRED_POINT] };
  }
  return { id: scenario.id, origin: gateway.origin, key: created.key, pid: gateway.pid, child: gateway.child, ...(paired ? { paired } : {}) };
}

/** Free TCP port on 127.0.0.1 for a peer that cannot listen on port 0 and report it (Portkey). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * `--profile DIR`: for each of json-c1 and json-c64, a fresh gateway of the first scenario with --cpu-prof, a
 * warm-up, then a measured wrk window; the gateway is stopped (SIGTERM, so V8 writes the profile) and the top
 * self-time functions are printed. The profile covers start-up and warm-up too; both are small next to the window.
 */
async function profileRun(
  dir: string,
  scenario: GatewayScenario,
  dist: string,
  workDir: string,
  upstreamUrl: string,
  upstreamKey: string,
  bodies: Bodies,
  durationS: number,
  fakePid: number,
): Promise<void> {
  mkdirSync(dir, { recursive: true });
  for (const point of LOAD_POINTS.filter((p) => !p.stream)) {
    const profileDir = path.join(dir, `${scenario.id}-${point.id}`);
    rmSync(profileDir, { recursive: true, force: true });
    const gateway = await startGateway(scenario, dist, workDir, upstreamUrl, upstreamKey, ['--cpu-prof', '--cpu-prof-dir', profileDir]);
    const procs: Processes = { gateways: [gateway.pid as number], all: [process.pid, fakePid, gateway.pid as number] };
    await measureWrk(gateway, procs, point, 0, bodies, 2);
    const windowStarted = performance.now();
    const sample = await measureWrk(gateway, procs, point, 1, bodies, durationS);
    await stopGateway(gateway.child);
    // Only the measured window (and the stop after it) counts, not start-up, key creation or warm-up.
    const lastMs = performance.now() - windowStarted;
    const files = readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile'));
    if (files.length === 0) throw new Error(`no .cpuprofile written in ${profileDir}`);
    const file = path.join(profileDir, files[0] as string);
    log(`${point.id}: ${Math.round(sample.reqPerSec)} req/s, ${sample.gateway?.cpuUsPerRequest.toFixed(1)} µs CPU/req (from /proc, profiler on)`);
    process.stdout.write(`${formatTop(`${scenario.id} ${point.id} (${path.relative(ROOT, file)})`, topSelfTime(file, ROOT, 30, lastMs), sample.requests)}\n\n`);
  }
}

function machineInfo(): Record<string, unknown> {
  const cpus = os.cpus();
  let wrkVersion = 'unknown';
  try {
    wrkVersion = spawnSync('wrk', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0]?.trim() ?? wrkVersion;
  } catch {
    // wrk missing is reported when it is first run
  }
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cpus: cpus.length,
    memoryMb: Math.round(os.totalmem() / 2 ** 20),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    wrk: wrkVersion,
  };
}

function gitCommit(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${sha}+dirty` : sha;
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '3' },
      'ttfc-duration': { type: 'string', default: '2' },
      reps: { type: 'string', default: '5' },
      scenarios: { type: 'string' },
      'no-readme': { type: 'boolean', default: false },
      dist: { type: 'string' },
      out: { type: 'string', default: 'bench/results/gateway.json' },
      'no-peers': { type: 'boolean', default: false },
      'no-portkey': { type: 'boolean', default: false },
      profile: { type: 'string' },
    },
  });
  const durationS = Number(values.duration);
  const ttfcS = Number(values['ttfc-duration']);
  const reps = Number(values.reps);
  if (!(Number.isInteger(durationS) && durationS > 0 && durationS <= 30 && ttfcS > 0 && ttfcS <= 30 && Number.isInteger(reps) && reps >= 1 && reps <= 9)) {
    throw new Error('--duration must be whole seconds in 1..30, --ttfc-duration in (0, 30] seconds, --reps in 1..9');
  }
  /** Each of the four alternating windows of a paired comparison (wrk takes whole seconds). */
  const halfS = Math.max(1, Math.round(durationS / 2));
  const wanted = values.scenarios?.split(',');
  const scenarios = GATEWAY_SCENARIOS.filter((s) => wanted === undefined || wanted.includes(s.id));
  if (scenarios.length === 0) throw new Error(`no scenario matches ${values.scenarios}`);

  pinSelf(LOAD_CORE);
  const dist = values.dist === undefined ? path.join(ROOT, 'dist') : path.resolve(values.dist);
  if (values.dist === undefined) buildIfNeeded();
  const dir = path.join(ROOT, 'bench/.work', `run-${process.pid}`);
  workDir = dir;
  mkdirSync(dir, { recursive: true });
  try {
    const bodies: Bodies = {
      json: { file: path.join(dir, 'chat.json'), bytes: chatBody(false) },
      sse: { file: path.join(dir, 'chat-stream.json'), bytes: chatBody(true) },
    };
    writeFileSync(bodies.json.file, bodies.json.bytes);
    writeFileSync(bodies.sse.file, bodies.sse.bytes);

    // The upstream key has the virtual key's length, so direct and proxied requests are the same size.
    const upstreamKey = `sk-bench-${randomBytes(24).toString('base64url')}`.slice(0, 41);
    const fake = spawnPinned(LOAD_CORE, process.execPath, ['--import', 'tsx', 'test/support/fake-openai-main.ts', '--port', '0', '--key', upstreamKey], { cwd: ROOT });
    const [upstreamUrl] = await waitForLine(fake, /^http:\/\/\S+\/v1$/m, 15_000, 'fake upstream');
    fake.stdout?.resume();
    fake.stderr?.resume();
    const direct: Target = { id: 'direct', origin: new URL(upstreamUrl).origin, key: upstreamKey };
    if (values.profile !== undefined) {
      await profileRun(path.resolve(values.profile), scenarios[0] as GatewayScenario, dist, dir, upstreamUrl, upstreamKey, bodies, durationS, fake.pid as number);
      return;
    }
    const notes: string[] = [];
    // References first: the floor and Portkey, on the gateway core like keywarden.
    const peers: Target[] = [];
    if (!values['no-peers']) {
      peers.push(await startFloor(ROOT, upstreamUrl, upstreamKey));
      const portkey = values['no-portkey'] ? { unavailable: 'left out (--no-portkey)' } : await startPortkey(ROOT, upstreamUrl, upstreamKey, await freePort(), log);
      if ('target' in portkey) peers.push(portkey.target);
      else {
        log(`Portkey not measured: ${portkey.unavailable}`);
        notes.push(`Portkey was not measured in this run: ${portkey.unavailable}.`);
      }
    }
    const gateways: Target[] = [];
    /** Limited key and the plain key of the same gateway, for the alternating paired windows. */
    const pairs: Array<[limited: Target, plain: Target]> = [];
    for (const scenario of scenarios) {
      const { child: _child, paired, ...target } = await startGateway(scenario, dist, dir, upstreamUrl, upstreamKey);
      gateways.push(target);
      // Right beside its scenario's key, so in every repetition the two are measured back to back.
      if (paired) {
        gateways.push(paired);
        pairs.push([target, paired]);
      }
    }
    const proxies = [...peers, ...gateways];
    /** The pair of the paired c=1 latency windows; absent with --no-peers. */
    const floor = peers.find((p) => p.id === FLOOR_ID);
    const base = gateways.find((g) => g.id === scenarios[0]?.id);
    const procs: Processes = {
      gateways: [...new Set(proxies.map((g) => g.pid as number))],
      all: [...new Set([process.pid, fake.pid as number, ...proxies.map((g) => g.pid as number)])],
    };
    log(`fake upstream ${direct.origin}; proxies ${proxies.map((g) => `${g.id}=${g.origin} (pid ${g.pid})`).join(', ')}`);

    // Warm-up: JIT, connection pools and SQLite pages, for every target, before anything is recorded. In short
    // windows, because each window's end is part of what must be warm: wrk closes its connections with requests in
    // flight, and the first few times those aborts reach a code path they widen V8's field types (a field written
    // once becomes mutable, a number field takes another kind of number), which throws away the optimized code of the
    // hot path built on the narrower types. It is then compiled again inside the next window: in two runs of a
    // gateway whose only warm-up was one 3-second window, three and four of the next five 3-second windows spent
    // 109–306 ms in TurboFan (--trace-opt); after six 1-second windows, seven of the next eight 3-second windows
    // spent 3–24 ms and one 115 ms.
    for (const target of [direct, ...proxies]) {
      for (const point of LOAD_POINTS.filter((p) => p.connections > 1 && (!target.points || target.points.includes(p.id)))) {
        for (let i = 0; i < WARMUP_WINDOWS; i++) await measureWrk(target, procs, point, 0, bodies, 1);
      }
    }
    const peerFailures = new Map<string, number>();

    const wrkSamples: WrkSample[] = [];
    const ttfcSamples: TtfcSample[] = [];
    const windows = new WindowSequence();
    /**
     * Called before every measured window: a target coming back from idling gets REWARM_S of load first (rewarm.ts),
     * from the client the window is measured with.
     */
    const warmIfSwitched = async (target: Target, point: LoadPoint, client: WindowClient): Promise<void> => {
      if (!windows.switchesTo(target.id, point.id, client)) return;
      if (client === 'wrk') await measureWrk(target, procs, point, 0, bodies, REWARM_S);
      else await measureTtfc(target, procs, point, 0, bodies, REWARM_S);
    };
    /** One half-length window of a paired comparison, recorded under `windowPoint` (which only the paired verdicts read). */
    const pairedWrkWindow = async (target: Target, point: LoadPoint, rep: number, windowPoint: string): Promise<void> => {
      await warmIfSwitched(target, point, 'wrk');
      const sample = await measureWrk(target, procs, point, rep, bodies, halfS);
      if (sample.errors > 0) throw new Error(`${target.id} ${windowPoint}: ${sample.errors} errors in ${sample.requests} requests`);
      wrkSamples.push({ ...sample, point: windowPoint });
      log(`${windowPoint} rep ${rep} ${target.id}: p50 ${sample.latencyUs.p50} µs, cpu ${sample.gateway?.cpuUsPerRequest.toFixed(1)} µs/req`);
    };
    for (const point of LOAD_POINTS) {
      for (let rep = 1; rep <= reps; rep++) {
        // Alternate the order so neither side always runs first (thermal and cache effects).
        const order = rep % 2 === 1 ? [direct, ...proxies] : [...proxies, direct];
        // The floor's paired windows with the first scenario: floor, gateway, gateway, floor, reversed on even
        // repetitions; none without the floor (--no-peers).
        const floorPairOrder = floor && base ? (rep % 2 === 1 ? [floor, base, base, floor] : [base, floor, floor, base]) : [];
        for (const target of order) {
          if (target.points && !target.points.includes(point.id)) continue;
          await warmIfSwitched(target, point, 'wrk');
          const sample = await measureWrk(target, procs, point, rep, bodies, durationS);
          if (sample.errors > 0 && target.lenient !== true) throw new Error(`${target.id} ${point.id}: ${sample.errors} errors in ${sample.requests} requests`);
          if (sample.errors > 0) peerFailures.set(`${target.id} ${point.id}`, (peerFailures.get(`${target.id} ${point.id}`) ?? 0) + sample.errors);
          wrkSamples.push(sample);
          log(`${point.id} rep ${rep} ${target.id}: ${Math.round(sample.reqPerSec)} req/s p50 ${sample.latencyUs.p50} µs p99 ${sample.latencyUs.p99} µs` +
            (sample.gateway ? ` cpu ${sample.gateway.cpuUsPerRequest.toFixed(1)} µs/req rss ${(sample.gateway.rssMaxKb / 1024).toFixed(0)} MB${schedNote(sample.gateway)}` : '') +
            ` (foreign load: ${sample.noise.foreignBeforePct.toFixed(0)}% before, ${sample.noise.foreignGatewayCorePct.toFixed(0)}% of gateway core)`);
          if (point.stream) {
            await warmIfSwitched(target, point, 'stream');
            const ttfc = await measureTtfc(target, procs, point, rep, bodies, ttfcS);
            if (ttfc.errors > 0 && target.lenient !== true) throw new Error(`${target.id} ${point.id} (first chunk): ${ttfc.errors} errors`);
            if (ttfc.errors > 0) peerFailures.set(`${target.id} ${point.id}`, (peerFailures.get(`${target.id} ${point.id}`) ?? 0) + ttfc.errors);
            ttfcSamples.push(ttfc);
            log(`${point.id} rep ${rep} ${target.id}: first chunk p50 ${ttfc.ttfcUs.p50.toFixed(0)} µs p99 ${ttfc.ttfcUs.p99.toFixed(0)} µs`);
          }
        }
        if (point.id === PAIRED_POINT) {
          for (const [limited, plain] of pairs) {
            // Limited, plain, plain, limited (see PAIRED_WINDOWS_POINT); the paired verdict reads only these.
            for (const target of [limited, plain, plain, limited]) await pairedWrkWindow(target, point, rep, PAIRED_WINDOWS_POINT);
          }
          // See PAIRED_FLOOR_C64_POINT.
          for (const target of floorPairOrder) await pairedWrkWindow(target, point, rep, PAIRED_FLOOR_C64_POINT);
        }
        const latencyPoint = point.id === 'json-c1' ? PAIRED_P50_POINT : point.id === 'sse-c1' ? PAIRED_TTFC_POINT : null;
        if (latencyPoint !== null) {
          // See PAIRED_P50_POINT; the paired c=1 latency verdicts read only these. The streamed point pairs the
          // first-chunk measurement.
          for (const target of floorPairOrder) {
            if (point.stream) {
              await warmIfSwitched(target, point, 'stream');
              const ttfc = await measureTtfc(target, procs, point, rep, bodies, ttfcS / 2);
              if (ttfc.errors > 0) throw new Error(`${target.id} ${latencyPoint}: ${ttfc.errors} errors in ${ttfc.requests} requests`);
              ttfcSamples.push({ ...ttfc, point: latencyPoint });
              log(`${latencyPoint} rep ${rep} ${target.id}: first chunk p50 ${ttfc.ttfcUs.p50.toFixed(0)} µs`);
            } else await pairedWrkWindow(target, point, rep, latencyPoint);
          }
        }
      }
    }
    if (gatewayLog.length > 0) {
      const kinds = new Map<string, number>();
      for (const line of gatewayLog) {
        const kind = line.replace(/"time":"[^"]*",?/, '');
        kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      }
      log(`gateways logged ${gatewayLog.length} lines:`);
      for (const [kind, n] of kinds) log(`  ${n} × ${kind}`);
    }
    // Topology check: the same direct c=1 call with wrk on the gateway's core, i.e. every round trip crossing
    // cores, as the proxied path does twice per request (client -> gateway -> upstream and back).
    const crossCore: WrkSample[] = [];
    for (let rep = 1; rep <= reps; rep++) {
      // Same-target windows back to back, and the fake upstream it calls never idles: nothing to warm again.
      crossCore.push(await measureWrk(direct, procs, CROSS_CORE_POINT, rep, bodies, durationS, GATEWAY_CORE));
    }
    const sameCoreP50 = median(wrkSamples.filter((s) => s.point === 'json-c1' && s.target === 'direct').map((s) => s.latencyUs.p50));
    const topology = { sameCoreP50Us: sameCoreP50, crossCoreP50Us: median(crossCore.map((s) => s.latencyUs.p50)) };
    log(`direct c=1 p50: same core ${topology.sameCoreP50Us} us, across cores ${topology.crossCoreP50Us} us`);
    // What waking a sleeper on the load core costs a writer on the gateway core, for the note on wake-ups. Only that
    // note's price depends on it: a probe that fails is reported, and the run's measurements are still written.
    const wakeCost = await measureWakeCost().catch((err: unknown) => {
      notes.push(`The wake-up probe (wake-probe.ts) failed, so the wake-ups below are not priced: ${err instanceof Error ? err.message : String(err)}`);
      return null;
    });
    if (wakeCost) log(`a write that wakes a reader on the load core: ${wakeCost.asleepUs.toFixed(1)} µs of the writer's CPU, ${wakeCost.awakeUs.toFixed(1)} µs to a running reader`);
    const peak = Object.fromEntries(gateways.filter((g) => !g.points).map((g) => [g.id, memory(g.pid as number)]));

    for (const [what, errors] of peerFailures) {
      notes.push(`${what}: ${errors} failed requests (socket errors or non-2xx answers); its figures there are left out.`);
    }
    const paired = pairedNote(wrkSamples, scenarios);
    if (paired !== null) notes.push(paired);
    const noteTargets = [...(floor ? [{ id: floor.id, label: 'floor' }] : []), ...scenarios];
    const offMain = offMainThreadNote(wrkSamples, noteTargets);
    if (offMain !== null) notes.push(offMain);
    const wakeups = wakeupNote(wrkSamples, noteTargets, wakeCost);
    if (wakeups !== null) notes.push(wakeups);
    const ids = ['direct', ...proxies.map((g) => g.id)];
    const points = summarize(wrkSamples, ttfcSamples, ids);
    const checks = verdicts(points, scenarios, wrkSamples, ttfcSamples);
    const noise = noiseSummary(wrkSamples, ttfcSamples);
    const machine = machineInfo();
    const date = new Date().toISOString();
    // A --dist build is not the worktree's HEAD; say what was measured instead of a misleading hash.
    const commit = values.dist === undefined ? gitCommit() : `build ${path.relative(ROOT, dist)}`;
    const method =
      `wrk -t1 (non-streamed and streamed req/s, p50, p99: full response) and a raw-socket client (first chunk), ` +
      `${reps} × ${durationS} s per point (${ttfcS} s for first chunk), each window after ${REWARM_S} s of unrecorded load from its client when the window ` +
      `before it measured another target, point or client, medians of the repetitions; gateway CPU from /proc/PID/stat.`;
    const result = {
      date,
      commit,
      dist: path.relative(ROOT, dist),
      machine,
      method: { durationS, ttfcDurationS: ttfcS, reps, rewarmS: REWARM_S, bodyBytes: bodies.json.bytes.length, gatewayCore: GATEWAY_CORE, loadCore: LOAD_CORE },
      scenarios,
      peers: peers.map((p) => p.id),
      notes,
      summary: points,
      targets: checks,
      noise,
      topology,
      wakeCost,
      gatewayMemoryAtEnd: peak,
      gatewayLogLines: gatewayLog.length,
      samples: { wrk: wrkSamples, firstChunk: ttfcSamples, crossCore },
    };
    const out = path.resolve(ROOT, values.out);
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
    const labels = Object.fromEntries([
      ['direct', 'direct'],
      [FLOOR_ID, 'floor (bare node:http + undici proxy)'],
      [PORTKEY_ID, 'Portkey 1.15.2'],
      ...scenarios.map((s) => [s.id, s.label]),
      ...scenarios.flatMap((s) => (s.pairedPlainKey ? [[s.pairedPlainKey, `key without limits, on the "${s.label}" gateway`]] : [])),
    ]) as Record<string, string>;
    const table = markdown(points, checks, {
      date: date.slice(0, 10),
      commit,
      machine: `${String(machine.cpuModel)} × ${String(machine.cpus)}, ${String(machine.node)}`,
      method,
      labels,
      noise,
      topology,
      notes,
    });
    if (!values['no-readme']) updateReadme(path.join(ROOT, 'README.md'), table);
    process.stdout.write(`${table}\n`);
  } finally {
    await stopAll();
    await stopStacks();
    removeWorkDir();
  }
}

function removeWorkDir(): void {
  if (workDir !== null) rmSync(workDir, { recursive: true, force: true });
  workDir = null;
}

process.once('exit', () => {
  killAllNow();
  removeWorkDir();
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping children`);
    void stopAll().finally(() => process.exit(130));
  });
}

main().catch(async (err: unknown) => {
  log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  await stopAll();
  process.exitCode = 1;
});
