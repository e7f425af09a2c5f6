import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface Measurement {
  wallMs: number;
  peakRssMb: number;
  exitCode: number;
  stdout: string;
}

/** VmHWM (peak resident set) in kB of one process, or 0 once it is gone. */
function peakOf(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * Runs a command and measures wall time and peak RSS. RSS is sampled from /proc every 10 ms as the high-water
 * mark (VmHWM) of the process and every descendant (e.g. the `git cat-file` processes of a --git scan), summed:
 * an upper bound of the true simultaneous peak, so the figure never flatters the tool.
 */
export function measure(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<Measurement> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const peaks = new Map<number, number>();
    const sample = (): void => {
      const queue = child.pid === undefined ? [] : [child.pid];
      while (queue.length > 0) {
        const pid = queue.pop() as number;
        const peak = peakOf(pid);
        if (peak > (peaks.get(pid) ?? 0)) peaks.set(pid, peak);
        queue.push(...childrenOf(pid));
      }
    };
    const timer = setInterval(sample, 10);
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      if (stdout.length < 64 * 1024 * 1024) stdout += chunk.toString('utf8');
    });
    child.stderr.resume();
    child.on('error', reject);
    child.on('exit', () => sample());
    child.on('close', (code) => {
      clearInterval(timer);
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      const peakKb = [...peaks.values()].reduce((a, b) => a + b, 0);
      resolve({ wallMs, peakRssMb: peakKb / 1024, exitCode: code ?? -1, stdout });
    });
  });
}

/**
 * Runs `times` measurements and keeps the one with the median wall time, plus the best wall time: on a shared
 * machine the spread is wide, and both figures are reported.
 */
export async function median(times: number, run: () => Promise<Measurement>): Promise<Measurement & { bestWallMs: number }> {
  const runs: Measurement[] = [];
  for (let i = 0; i < times; i++) runs.push(await run());
  runs.sort((a, b) => a.wallMs - b.wallMs);
  const middle = runs[Math.floor(runs.length / 2)] as Measurement;
  return { ...middle, bestWallMs: (runs[0] as Measurement).wallMs };
}
