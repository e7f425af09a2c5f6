// One measured window: load from the load core against one target, with the gateway's CPU (from /proc/PID/stat)
// read around the window, its RSS sampled during it, and the CPU that processes other than ours took on the
// gateway's core (the machine may be shared; such windows are recorded, not hidden).
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { coreBusyUs, cpuTimes, sampleRss, schedCounters, totalCpuUs, waitForQuiet, wakeupsOn, type SchedCounters } from './procs.js';
import { CHAT_PATH, GATEWAY_CORE, LOAD_CORE, type LoadPoint } from './scenarios.js';
import { runStreamClient } from './sse-client.js';
import { percentile } from './stats.js';
import { runWrk } from './wrk.js';

export interface Target {
  /** `direct` or a scenario id. */
  id: string;
  origin: string;
  key: string;
  /** The gateway's pid; absent for the direct baseline (the fake upstream's CPU is not the subject). */
  pid?: number;
  /** Extra request headers (Portkey names its provider and custom host in headers). */
  headers?: Readonly<Record<string, string>>;
  /** A peer whose failures are recorded, not fatal (Portkey's streaming fails on some Node versions). */
  lenient?: boolean;
  /** Measured only at these load points (a scenario's paired plain key: json-c64); every point when absent. */
  points?: readonly string[];
}

export interface Bodies {
  json: { file: string; bytes: Buffer };
  sse: { file: string; bytes: Buffer };
}

/** Our processes: every gateway (all pinned to the gateway core) and the rest (fake upstream, this process). */
export interface Processes {
  gateways: readonly number[];
  all: readonly number[];
}

export interface GatewayUsage {
  userUs: number;
  systemUs: number;
  cpuUsPerRequest: number;
  rssMaxKb: number;
  /**
   * The event loop's scheduler counters over the window, per request: blocking waits (the loop went idle, so fewer
   * requests shared each turn), preemptions, run-queue wait, the process's minor page faults, and the CPU of its other
   * threads (the GC's helpers: a window with much of it is one where the old generation was being collected). Absent
   * in results written before they were added.
   */
  sched?: SchedCounters;
  /**
   * Wake-up interrupts the load core received per request (procs.ts, wakeupInterrupts): how often an answer found wrk
   * or the fake upstream asleep, so that the write had to wake it across cores, which the writer pays for (see
   * wake-probe.ts). Absent in results written before it was added.
   */
  loadCoreWakeups?: number;
}

export interface Noise {
  /** Foreign CPU on the whole machine just before the window (percent of one core), and the wait for quiet. */
  foreignBeforePct: number;
  waitedMs: number;
  /** CPU used on the gateway core during the window by processes other than the gateways (percent). */
  foreignGatewayCorePct: number;
}

export interface WrkSample {
  target: string;
  point: string;
  rep: number;
  requests: number;
  /** Socket errors plus non-2xx answers; any at all makes the run fail loudly. */
  errors: number;
  reqPerSec: number;
  latencyUs: { mean: number; p50: number; p90: number; p99: number; p999: number; max: number };
  gateway?: GatewayUsage;
  noise: Noise;
}

export interface TtfcSample {
  target: string;
  point: string;
  rep: number;
  requests: number;
  errors: number;
  ttfcUs: { p50: number; p99: number };
  totalUs: { p50: number; p99: number };
  noise: Noise;
}

/** After the load stops, let the usage recorder's flush timer (≤ 100 ms) land inside this window, not the next. */
const SETTLE_MS = 120;

interface Observed<T> {
  result: T;
  gateway: GatewayUsage | undefined;
  noise: Noise;
}

/** Total time a run may spend waiting for a quiet machine, so a busy machine cannot stretch the run unboundedly. */
let quietBudgetMs = 20_000;

async function observe<T>(target: Target, procs: Processes, run: () => Promise<T>, requests: (r: T) => number): Promise<Observed<T>> {
  const quiet = await waitForQuiet(procs.all, 10, Math.min(2_000, quietBudgetMs));
  quietBudgetMs = Math.max(0, quietBudgetMs - quiet.waitedMs);
  const pid = target.pid;
  const rss = pid === undefined ? null : sampleRss(pid);
  const before = pid === undefined ? null : cpuTimes(pid);
  const schedBefore = pid === undefined ? null : schedCounters(pid);
  const coreBefore = coreBusyUs()[GATEWAY_CORE] ?? 0;
  const wakeupsBefore = wakeupsOn(LOAD_CORE);
  const gatewaysBefore = totalCpuUs(procs.gateways);
  const t0 = performance.now();
  let result: T;
  let rssMaxKb = 0;
  try {
    result = await run();
    await sleep(SETTLE_MS);
  } finally {
    // Stop sampling even when the load run failed, so no interval keeps the process alive.
    rssMaxKb = rss?.stop() ?? 0;
  }
  const wallUs = (performance.now() - t0) * 1000;
  const foreignCoreUs = (coreBusyUs()[GATEWAY_CORE] ?? 0) - coreBefore - (totalCpuUs(procs.gateways) - gatewaysBefore);
  const noise: Noise = {
    foreignBeforePct: quiet.foreignPct,
    waitedMs: quiet.waitedMs,
    foreignGatewayCorePct: Math.max(0, (100 * foreignCoreUs) / wallUs),
  };
  if (pid === undefined || before === null || schedBefore === null) return { result, gateway: undefined, noise };
  const after = cpuTimes(pid);
  const schedAfter = schedCounters(pid);
  const wakeups = wakeupsOn(LOAD_CORE) - wakeupsBefore;
  const userUs = after.userUs - before.userUs;
  const systemUs = after.systemUs - before.systemUs;
  const n = requests(result);
  const perRequest = (key: keyof SchedCounters): number => (n > 0 ? (schedAfter[key] - schedBefore[key]) / n : NaN);
  const sched: SchedCounters = {
    voluntarySwitches: perRequest('voluntarySwitches'),
    involuntarySwitches: perRequest('involuntarySwitches'),
    runQueueWaitUs: perRequest('runQueueWaitUs'),
    minorFaults: perRequest('minorFaults'),
    offMainThreadUs: perRequest('offMainThreadUs'),
  };
  const loadCoreWakeups = n > 0 ? wakeups / n : NaN;
  return { result, noise, gateway: { userUs, systemUs, cpuUsPerRequest: n > 0 ? (userUs + systemUs) / n : NaN, rssMaxKb, sched, loadCoreWakeups } };
}

export async function measureWrk(
  target: Target,
  procs: Processes,
  point: LoadPoint,
  rep: number,
  bodies: Bodies,
  durationS: number,
  core: number = LOAD_CORE,
): Promise<WrkSample> {
  const body = point.stream ? bodies.sse : bodies.json;
  const { result: wrk, gateway, noise } = await observe(
    target,
    procs,
    () =>
      runWrk({
        core,
        origin: target.origin,
        path: CHAT_PATH,
        key: target.key,
        ...(target.headers ? { headers: target.headers } : {}),
        bodyFile: body.file,
        connections: point.connections,
        durationS,
      }),
    (r) => r.requests,
  );
  const e = wrk.errors;
  const sample: WrkSample = {
    target: target.id,
    point: point.id,
    rep,
    requests: wrk.requests,
    errors: e.connect + e.read + e.write + e.status + e.timeout,
    reqPerSec: wrk.requests / (wrk.durationUs / 1e6),
    latencyUs: {
      mean: wrk.latencyUs.mean,
      p50: wrk.latencyUs.p50,
      p90: wrk.latencyUs.p90,
      p99: wrk.latencyUs.p99,
      p999: wrk.latencyUs.p999,
      max: wrk.latencyUs.max,
    },
    noise,
  };
  if (gateway) sample.gateway = gateway;
  return sample;
}

export async function measureTtfc(target: Target, procs: Processes, point: LoadPoint, rep: number, bodies: Bodies, durationS: number): Promise<TtfcSample> {
  const url = new URL(target.origin);
  const { result: run, noise } = await observe(
    { ...target, pid: undefined },
    procs,
    () =>
      runStreamClient({
        host: url.hostname,
        port: Number(url.port),
        path: CHAT_PATH,
        key: target.key,
        ...(target.headers ? { headers: target.headers } : {}),
        body: bodies.sse.bytes,
        connections: point.connections,
        durationMs: durationS * 1000,
        maxRequests: 200_000,
      }),
    (r) => r.requests,
  );
  return {
    target: target.id,
    point: point.id,
    rep,
    requests: run.requests,
    errors: run.errors,
    ttfcUs: { p50: percentile(run.ttfcUs, 50), p99: percentile(run.ttfcUs, 99) },
    totalUs: { p50: percentile(run.totalUs, 50), p99: percentile(run.totalUs, 99) },
    noise,
  };
}
