// What the gateway benchmark measures. A new configuration to compare (a key with limits and a budget, a server
// flag or environment variable that turns monitoring on) is one more entry in GATEWAY_SCENARIOS: each entry gets
// its own gateway process and key, and is measured at every load point, interleaved with the direct baseline.
import { SERVING_V8_FLAGS } from '../../src/server/v8-tuning.js';

export interface GatewayScenario {
  /** Short stable id, used in results JSON. */
  id: string;
  label: string;
  /** Extra environment for this scenario's gateway process. */
  env?: Record<string, string>;
  /** Extra arguments for `keywarden serve`. */
  args?: string[];
  /** Extra fields for `POST /admin/v1/keys` when creating this scenario's virtual key (e.g. `limits`). */
  key?: Record<string, unknown>;
  /**
   * A cost target: the most gateway CPU per non-streamed request (µs, at c=64) this scenario may add over the
   * scenario `over`, measured in the same run. Reported as its own target.
   */
  extraCpu?: { over: string; maxUs: number; what: string };
  /**
   * Keys written to the store before the run (issue 12: the hot path must not notice 10,000 canary and 10,000
   * child keys). The measured key stays an ordinary key; the seeded ones are never used.
   */
  seed?: { canaryKeys: number; childKeys: number };
  /** Services the gateway runs on instead of the embedded SQLite and in-process limits (stack.ts). */
  stack?: 'postgres+redis';
  /**
   * Also measure, at c=64 non-streamed only, a key without limits on this scenario's own gateway process, right
   * beside this scenario's key in every repetition: `extraCpu` is then also read as a paired difference within one
   * process (the spread between separate gateway processes does not enter it). The id names that extra target.
   */
  pairedPlainKey?: string;
}

/** Limits that never refuse during the run, so every request pays for the full check and settlement. */
export const GENEROUS_LIMITS = {
  rpm: 100_000_000,
  rpd: 1_000_000_000,
  tpm: 1_000_000_000_000,
  concurrency: 10_000,
  max_output_tokens: 4096,
  budgets: [
    { usd: 1_000_000, period: 'day' },
    { usd: 10_000_000, period: 'month' },
  ],
};

/** The first scenario is the product as shipped (monitoring on, a key without limits): the targets use it. */
export const GATEWAY_SCENARIOS: readonly GatewayScenario[] = [
  {
    id: 'keywarden',
    label: 'keywarden',
    extraCpu: { over: 'no-monitoring', maxUs: 10, what: 'monitoring' },
  },
  { id: 'no-monitoring', label: 'monitoring off', env: { KEYWARDEN_MONITOR: 'off' } },
  {
    id: 'limits',
    label: 'key with limits and budgets',
    key: { limits: GENEROUS_LIMITS },
    extraCpu: { over: 'keywarden', maxUs: 15, what: 'limit check and budget settlement' },
    pairedPlainKey: 'limits-plain-key',
  },
  {
    id: 'seeded',
    label: '10,000 canary + 10,000 child keys in the store',
    seed: { canaryKeys: 10_000, childKeys: 10_000 },
    // "Adds nothing measurable": within the run-to-run noise of CPU per request on this machine.
    extraCpu: { over: 'keywarden', maxUs: 5, what: '10,000 canary and 10,000 child keys in the store' },
  },
  {
    // Issue 11: one replica on the scale-out stack, the same key as `limits`, so the difference is the stack.
    id: 'pg-redis',
    label: 'key with limits and budgets, PostgreSQL + Redis',
    key: { limits: GENEROUS_LIMITS },
    stack: 'postgres+redis',
    extraCpu: { over: 'limits', maxUs: 40, what: 'PostgreSQL store + Redis limits (one replica)' },
  },
];

/** Reference targets measured in the same run as the scenarios (see peers.ts). */
export const FLOOR_ID = 'floor';
export const PORTKEY_ID = 'portkey';

export interface LoadPoint {
  id: string;
  stream: boolean;
  connections: number;
}

export const LOAD_POINTS: readonly LoadPoint[] = [
  { id: 'json-c1', stream: false, connections: 1 },
  { id: 'json-c64', stream: false, connections: 64 },
  { id: 'sse-c1', stream: true, connections: 1 },
  { id: 'sse-c64', stream: true, connections: 64 },
];

/** Direct, non-streamed, c=1, with the load generator on the gateway's core: what crossing cores costs. */
export const CROSS_CORE_POINT: LoadPoint = { id: 'json-c1-cross-core', stream: false, connections: 1 };

/** Issue 14's targets, checked for the first scenario against the floor (and Portkey) measured in the same run. */
export const TARGETS = {
  /** Gateway CPU per non-streamed request at c=64, as a multiple of the floor's. */
  cpuVsFloor: 1.3,
  /** Throughput at c=64: at least this share of the floor's, and this multiple of Portkey's. */
  throughputVsFloor: 0.75,
  throughputVsPortkey: 12,
  /** Added p50 at c=1 and added time to first chunk at c=1: at most the floor's plus this. */
  addedP50OverFloorMs: 0.05,
  addedTtfcOverFloorMs: 0.05,
  rssMb: 150,
} as const;

/**
 * Node flags the gateway and the floor run with: `npm start`'s (a smaller young generation keeps RSS under load
 * down with no measurable CPU cost), and the V8 flag `keywarden serve` sets on itself (src/server/v8-tuning.ts), so
 * the floor's process is not left to the GC heuristic the gateway turns off.
 */
export const GATEWAY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8', SERVING_V8_FLAGS];

/** The load point at which a scenario's paired plain key is measured (where the CPU targets are read). */
export const PAIRED_POINT = 'json-c64';
/**
 * Samples of the paired limits comparison: in every repetition at PAIRED_POINT, the limited key and the plain key
 * of the same gateway are measured again in four half-length windows, limited–plain–plain–limited, so a drift of
 * the machine's speed within the repetition hits both keys alike. The paired verdict reads these.
 */
export const PAIRED_WINDOWS_POINT = 'json-c64-paired';
/**
 * Samples of the paired c=1 latency comparisons: in every repetition at json-c1 (wrk) and at sse-c1 (first chunk),
 * the floor and the first scenario are measured again in four half-length windows, floor–gateway–gateway–floor
 * (reversed on even repetitions, so neither always goes first). Their regular windows are not adjacent (the other
 * targets run between them), and the machine's speed drifts in between by more than the 0.05 ms targets; here a
 * drift within the repetition hits both alike. The paired latency verdicts read these.
 */
export const PAIRED_P50_POINT = 'json-c1-paired';
/**
 * Samples of the paired c=64 comparison with the floor: in every repetition at PAIRED_POINT, the floor and the first
 * scenario are measured again in four half-length windows, floor–gateway–gateway–floor (reversed on even
 * repetitions). In the regular windows the other targets run between the two, and this machine's speed drifts by
 * more than the CPU × floor target's margin from one minute to the next; here a drift hits both alike. The paired
 * CPU × floor and throughput-share rows read these.
 */
export const PAIRED_FLOOR_C64_POINT = 'json-c64-floor-paired';
export const PAIRED_TTFC_POINT = 'sse-c1-paired';

/** Cores: the gateway alone on one, the fake upstream and the load generators on the other. */
export const GATEWAY_CORE = 1;
export const LOAD_CORE = 0;

export const BODY_BYTES = 1024;
export const MODEL = 'gpt-4o-mini';
export const CHAT_PATH = '/v1/chat/completions';

/**
 * A chat request of exactly `bytes` bytes, streamed or not. Both variants have the same size, so streamed and
 * non-streamed runs upload the same amount.
 */
export function chatBody(stream: boolean, bytes = BODY_BYTES): Buffer {
  const shape = (content: string): string =>
    JSON.stringify({
      model: MODEL,
      ...(stream ? { stream: true } : {}),
      messages: [
        { role: 'system', content: 'You are a helpful assistant.' },
        { role: 'user', content },
      ],
    });
  const filler = 'The quick brown fox jumps over the lazy dog. ';
  const room = bytes - shape('').length;
  if (room < 0) throw new Error(`a chat body cannot be as small as ${bytes} bytes`);
  const body = Buffer.from(shape(filler.repeat(Math.ceil(room / filler.length)).slice(0, room)), 'utf8');
  if (body.length !== bytes) throw new Error(`chat body is ${body.length} bytes, expected ${bytes}`);
  return body;
}
