// Child processes for the benchmark: spawned pinned to a core, tracked in one registry and always reaped, plus
// readers for the kernel's per-process CPU and memory counters.
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const children = new Set<ChildProcess>();


/** Kernel clock ticks per second for /proc/PID/stat utime/stime (USER_HZ; 100 on Linux, asked once). */
export const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/**
 * Spawns `command` pinned to `core` with taskset. taskset execs the command (all threads inherit the affinity),
 * so the child's pid is the pinned program's pid and /proc/PID/* describe it directly.
 */
export function spawnPinned(core: number, command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  const child = spawn('taskset', ['-c', String(core), command, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Resolves with the first stdout line matching `pattern`, or rejects on exit/timeout (bounded start-up). */
export function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs: number, what: string): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let seen = '';
    let errText = '';
    const timer = setTimeout(() => finish(new Error(`${what}: no start-up line within ${timeoutMs} ms\n${errText}`)), timeoutMs);
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString('utf8');
      const match = pattern.exec(seen);
      if (match) finish(null, match);
    };
    const onErr = (chunk: Buffer): void => {
      errText += chunk.toString('utf8');
    };
    const onExit = (code: number | null): void => finish(new Error(`${what} exited (${code}) before starting\n${errText}`));
    function finish(err: Error | null, match?: RegExpMatchArray): void {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(match as RegExpMatchArray);
    }
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onErr);
    child.once('exit', onExit);
  });
}

/** Stops one child: SIGTERM, then SIGKILL after a grace period. Never throws. */
export async function stopChild(child: ChildProcess, graceMs = 3_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export async function stopAll(): Promise<void> {
  await Promise.all([...children].map((child) => stopChild(child)));
}

/** Last-resort synchronous cleanup for process exit paths where awaiting is impossible. */
export function killAllNow(): void {
  for (const child of children) child.kill('SIGKILL');
}

/** Pins the calling process (all its threads) to `core`, so the orchestrator and its client share the load core. */
export function pinSelf(core: number): void {
  execFileSync('taskset', ['-a', '-p', '-c', String(core), String(process.pid)], { stdio: 'ignore' });
}

export interface CpuTimes {
  /** User and system CPU in microseconds, all threads of the process. */
  userUs: number;
  systemUs: number;
}

/**
 * The fields of /proc/PID/stat (of one thread's /proc/PID/task/TID/stat when `tid` is given) from field 3 on: index
 * i holds field i + 3. The command name (field 2) may contain spaces, so the split starts past its closing parenthesis.
 */
function statFields(pid: number, tid?: number): string[] {
  const text = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/** utime and stime (fields 14 and 15), converted from clock ticks. */
function cpuTimesOf(fields: readonly string[]): CpuTimes {
  const toUs = (ticks: string | undefined): number => (Number(ticks) * 1_000_000) / CLOCK_TICKS;
  return { userUs: toUs(fields[11]), systemUs: toUs(fields[12]) };
}

/** utime and stime of a process (all its threads), or of one thread when `tid` is given. */
export function cpuTimes(pid: number, tid?: number): CpuTimes {
  return cpuTimesOf(statFields(pid, tid));
}

/**
 * Scheduler counters of a process's main thread (the event loop), and the process's minor page faults: why its CPU
 * per request moves between windows.
 */
export interface SchedCounters {
  /** Times it blocked (epoll waits: the loop went idle) and times it was preempted. */
  voluntarySwitches: number;
  involuntarySwitches: number;
  /** Time it was runnable but waiting for the core (another task held it), µs. */
  runQueueWaitUs: number;
  /** Minor page faults of the whole process (fresh pages; about 10 µs each on this kind of VM, see v8-tuning.ts). */
  minorFaults: number;
  /** CPU of the process's other threads (V8's GC and compiler helpers, libuv's pool), µs. */
  offMainThreadUs: number;
}

/** /proc/PID/status (context switches) and /proc/PID/schedstat (run-queue wait, ns) of the main thread; minflt. */
export function schedCounters(pid: number): SchedCounters {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const count = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  const waitNs = Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]);
  const fields = statFields(pid);
  const all = cpuTimesOf(fields);
  const main = cpuTimes(pid, pid);
  return {
    voluntarySwitches: count('voluntary_ctxt_switches'),
    involuntarySwitches: count('nonvoluntary_ctxt_switches'),
    runQueueWaitUs: waitNs / 1000,
    minorFaults: Number(fields[7]), // minflt, field 10
    offMainThreadUs: all.userUs + all.systemUs - main.userUs - main.systemUs,
  };
}

export interface MemoryKb {
  rssKb: number;
  hwmKb: number;
}

export function memory(pid: number): MemoryKb {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { rssKb: kb('VmRSS'), hwmKb: kb('VmHWM') };
}

/** Samples VmRSS every `intervalMs` until stopped; returns the largest sample (kB). */
export function sampleRss(pid: number, intervalMs = 100): { stop(): number } {
  let max = memory(pid).rssKb;
  const timer = setInterval(() => {
    try {
      max = Math.max(max, memory(pid).rssKb);
    } catch {
      // The process is gone; the run will fail on its own, keep the samples taken so far.
    }
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      return max;
    },
  };
}

/** Busy time (everything but idle and iowait) of each CPU since boot, in microseconds, from /proc/stat. */
export function coreBusyUs(): number[] {
  const out: number[] = [];
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const match = /^cpu(\d+) (.*)$/.exec(line);
    if (!match) continue;
    const [user, nice, system, , , irq, softirq, steal] = (match[2] ?? '').trim().split(/\s+/).map(Number);
    out[Number(match[1])] = (((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) * 1_000_000) / CLOCK_TICKS;
  }
  return out;
}

/**
 * Wake-up interrupts each core has received: the rescheduling (RES) and function-call (CAL) rows of /proc/interrupts,
 * summed per core column. A process that makes a task on another core runnable (a socket write to a reader asleep in
 * epoll_wait there) sends one of these, so the load core's count over a window is how often the gateway's writes
 * woke wrk or the fake upstream. Cores without the rows (another architecture) read NaN.
 */
export function wakeupInterrupts(text: string = readFileSync('/proc/interrupts', 'utf8')): number[] {
  const cores = (text.split('\n')[0] ?? '').trim().split(/\s+/).filter((name) => /^CPU\d+$/.test(name)).length;
  const rows = text
    .split('\n')
    .map((line) => /^\s*(?:RES|CAL):((?:\s+\d+)+)/.exec(line)?.[1])
    .filter((row): row is string => row !== undefined)
    .map((row) => row.trim().split(/\s+/).map(Number));
  return Array.from({ length: cores }, (_, core) => (rows.length === 0 ? Number.NaN : rows.reduce((sum, counts) => sum + (counts[core] ?? Number.NaN), 0)));
}

/** The wake-up interrupts `core` has received so far (wakeupInterrupts); NaN where they cannot be read. */
export function wakeupsOn(core: number): number {
  return wakeupInterrupts()[core] ?? Number.NaN;
}

export function totalCpuUs(pids: readonly number[]): number {
  let sum = 0;
  for (const pid of pids) {
    try {
      const t = cpuTimes(pid);
      sum += t.userUs + t.systemUs;
    } catch {
      // exited
    }
  }
  return sum;
}

/**
 * This machine may be shared. Before a window, wait (bounded) until processes other than ours use less than
 * `maxForeignPct` of the machine, so direct and proxied runs see the same quiet machine as far as possible.
 * Returns the foreign load of the last sample, in percent of one core, and how long it waited.
 */
export async function waitForQuiet(ours: readonly number[], maxForeignPct = 10, maxWaitMs = 10_000): Promise<{ foreignPct: number; waitedMs: number }> {
  const started = Date.now();
  for (;;) {
    const busy0 = coreBusyUs().reduce((a, b) => a + b, 0);
    const ours0 = totalCpuUs(ours);
    const t0 = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const elapsedUs = (performance.now() - t0) * 1000;
    const foreign = coreBusyUs().reduce((a, b) => a + b, 0) - busy0 - (totalCpuUs(ours) - ours0);
    const foreignPct = Math.max(0, (100 * foreign) / elapsedUs);
    const waitedMs = Date.now() - started;
    if (foreignPct < maxForeignPct || waitedMs >= maxWaitMs) return { foreignPct, waitedMs };
  }
}
