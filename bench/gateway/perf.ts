// `perf record` on a running gateway, for cpu-ab's --perf: CPU samples of every thread at a fixed frequency,
// without V8's profiler in the process (which slows some code far more than other code and so distorts a
// comparison between two configurations). The gateway runs with --perf-prof, which writes a jitdump of the code V8
// compiles (jit-PID.dump in its working directory); `perf inject --jit` then names every JavaScript sample by the
// function that was at that address at that time (a plain symbol map gets reused code addresses wrong).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

/** Samples per second per CPU (a prime, so the samples do not beat with a periodic timer). */
export const PERF_FREQUENCY = 4999;

/** Starts `perf record` on `pid`; `stop()` ends it and resolves once the data file is written. */
export function attachPerf(pid: number, file: string): { ready: Promise<void>; stop(): Promise<void> } {
  // -k 1: the monotonic clock, which the jitdump's timestamps use.
  const recorder: ChildProcess = spawn('perf', ['record', '-q', '-k', '1', '-e', 'cpu-clock', '-F', String(PERF_FREQUENCY), '-p', String(pid), '-o', file], { stdio: 'ignore' });
  return {
    ready: sleep(300),
    stop: () =>
      new Promise((resolve) => {
        recorder.once('exit', () => resolve());
        recorder.kill('SIGINT');
      }),
  };
}

export interface PerfSymbol {
  symbol: string;
  /** CPU µs per request spent in this symbol itself (no callees). */
  usPerRequest: number;
}

/** Self time per symbol of a recording, as CPU µs per request, largest first. */
export function perfSymbols(file: string, requests: number): PerfSymbol[] {
  // The jitdump is found through the recording's mmap of it; the injected file holds the JIT code as ELF images.
  const injected = `${file}.jit`;
  const inject = spawnSync('perf', ['inject', '--jit', '-i', file, '-o', injected], { encoding: 'utf8' });
  if (inject.status !== 0) throw new Error(`perf inject failed: ${inject.stderr}`);
  const report = spawnSync('perf', ['report', '-i', injected, '--stdio', '--no-children', '--sort', 'sym', '-F', 'sample,sym', '-g', 'none'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (report.status !== 0) throw new Error(`perf report failed: ${report.stderr}`);
  const symbols: PerfSymbol[] = [];
  for (const line of report.stdout.split('\n')) {
    // "   1234  [.] Builtins_RecordWriteSaveFP" or "   56  [.] LazyCompile:*decide /path/file.js:164"
    const match = /^\s*(\d+)\s+\[[.k]\]\s+(.+?)\s*$/.exec(line);
    if (!match) continue;
    const samples = Number(match[1]);
    symbols.push({ symbol: (match[2] as string).replace(/^(LazyCompile|Function|JS):[*~^+]?/, ''), usPerRequest: (samples * 1e6) / PERF_FREQUENCY / requests });
  }
  return symbols.sort((a, b) => b.usPerRequest - a.usPerRequest);
}
