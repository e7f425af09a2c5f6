// Runs wrk (one thread, pinned to the load core) with post.lua and parses the JSON line its done() prints.
import { fileURLToPath } from 'node:url';
import { spawnPinned } from './procs.js';

const SCRIPT = fileURLToPath(new URL('./post.lua', import.meta.url));

export interface WrkResult {
  requests: number;
  durationUs: number;
  bytes: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  latencyUs: { mean: number; stdev: number; max: number; p50: number; p90: number; p99: number; p999: number };
}

interface WrkJson {
  requests: number;
  duration_us: number;
  bytes: number;
  errors: WrkResult['errors'];
  latency_us: WrkResult['latencyUs'];
}

export interface WrkOptions {
  core: number;
  /** Origin, e.g. http://127.0.0.1:PORT. */
  origin: string;
  path: string;
  key: string;
  /** Extra request headers (a peer gateway's routing headers). */
  headers?: Readonly<Record<string, string>>;
  bodyFile: string;
  connections: number;
  durationS: number;
}

export function runWrk(options: WrkOptions): Promise<WrkResult> {
  const args = [
    '-t1',
    `-c${options.connections}`,
    // wrk takes whole seconds only.
    `-d${Math.max(1, Math.round(options.durationS))}s`,
    '-T10s',
    '-s',
    SCRIPT,
    options.origin,
  ];
  const child = spawnPinned(options.core, 'wrk', args, {
    env: { ...process.env, BENCH_BODY_FILE: options.bodyFile, BENCH_KEY: options.key, BENCH_PATH: options.path,
      // One `name: value` per line; post.lua adds each to every request.
      BENCH_HEADERS: Object.entries(options.headers ?? {})
        .map(([name, value]) => `${name}: ${value}`)
        .join('\n'),
    },
    // Bounded even if wrk hangs: its own duration plus a generous margin.
    timeout: (options.durationS + 20) * 1000,
    killSignal: 'SIGKILL',
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      const line = /^BENCH_JSON (.*)$/m.exec(out)?.[1];
      if (code !== 0 || line === undefined) {
        reject(new Error(`wrk failed (code ${code}, signal ${signal}): ${err || out}`));
        return;
      }
      const json = JSON.parse(line) as WrkJson;
      resolve({
        requests: json.requests,
        durationUs: json.duration_us,
        bytes: json.bytes,
        errors: json.errors,
        latencyUs: json.latency_us,
      });
    });
  });
}
