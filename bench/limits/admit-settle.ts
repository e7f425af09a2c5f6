// CPU per request of the limits stages alone (admit + settle, with the SQLite store's journal and settlement
// batches), for builds A/B on a busy machine where the whole-gateway A/B (bench/gateway/cpu-ab.ts) is too noisy to
// resolve a few microseconds. The key is the benchmark's `limits` key (rpm, rpd, tpm, concurrency,
// max_output_tokens 4096, a day and a month budget) and the body its 1 KB chat body. Requests are admitted
// `--connections` at a time and then settled with reported usage, as a gateway at that concurrency does; the
// settlement batch (every 20 ms) runs on its timer inside the measured window.
//
//   node --import tsx bench/limits/admit-settle.ts --dist A_DIR [--dist B_DIR] [--requests 100000] [--connections 64]
//     [--rounds 5] [--rate REQ_PER_S]
//
// A build's Limiter is used through admitNow/settleNow when it has them, else through admit/settle.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chatBody, GENEROUS_LIMITS } from '../gateway/scenarios.js';

interface AdmissionLike {
  ticket: unknown;
}
interface LimiterLike {
  admit(input: unknown): Promise<AdmissionLike | null>;
  settle(admission: AdmissionLike, outcome: unknown, now: number): Promise<unknown>;
  admitNow?(input: unknown): AdmissionLike | null | Promise<AdmissionLike | null>;
  settleNow?(admission: AdmissionLike, outcome: unknown, now: number): unknown;
}
interface StoreLike {
  spend: unknown;
  keys: { create(input: unknown): Promise<unknown> } & Record<string, unknown>;
  close(): Promise<void> | void;
}

/** The same limits as the gateway benchmark's `limits` scenario. */
const LIMITS = GENEROUS_LIMITS;

async function round(dist: string, requests: number, connections: number, rate: number): Promise<number> {
  const { Limiter } = (await import(path.join(dist, 'limits/limiter.js'))) as { Limiter: new (backend: unknown, prices: unknown) => LimiterLike };
  const { MemoryLimitsBackend } = (await import(path.join(dist, 'limits/memory-backend.js'))) as { MemoryLimitsBackend: new (ledger: unknown) => unknown };
  const { SqliteStore } = (await import(path.join(dist, 'store/index.js'))) as { SqliteStore: { open(dir: string): StoreLike } };
  const { PriceTable } = (await import(path.join(dist, 'pricing/index.js'))) as { PriceTable: new () => unknown };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kw-limits-bench-'));
  const store = SqliteStore.open(dir);
  try {
    const limiter = new Limiter(new MemoryLimitsBackend(store.spend), new PriceTable());
    const body = chatBody(false);
    const key = { id: 'key_bench', updatedAt: 1, limits: LIMITS, scopes: { models: [], endpoints: [], ipAllowlist: [], maxBodyBytes: null } };
    const usage = { promptTokens: 250, cachedTokens: 0, completionTokens: 20, reasoningTokens: 0 };
    const outcome = { status: 200, tokens: usage, streamedText: '', incomplete: false, abandoned: false };
    // Parsed once: the gateway parses every body whether or not the key has limits, so it is not a limits cost.
    const json = JSON.parse(body.toString()) as unknown;
    const admitOne = async (): Promise<AdmissionLike> => {
      const input = { key, path: '/v1/chat/completions', model: 'gpt-4o-mini', json, bodyBytes: body.length, now: Date.now(), costFree: false, project: null, parent: null };
      const admitted = limiter.admitNow ? limiter.admitNow(input) : limiter.admit(input);
      const admission = admitted instanceof Promise ? await admitted : admitted;
      if (!admission) throw new Error('not admitted');
      return admission;
    };
    const settleOne = async (admission: AdmissionLike): Promise<void> => {
      const settled = limiter.settleNow ? limiter.settleNow(admission, outcome, Date.now()) : limiter.settle(admission, outcome, Date.now());
      if (settled instanceof Promise) await settled;
    };
    // Warm-up: the key's spend is loaded, the code is optimized.
    for (let i = 0; i < 2000; i++) await settleOne(await admitOne());
    await new Promise((resolve) => setTimeout(resolve, 50));
    const before = process.cpuUsage();
    const started = performance.now();
    for (let done = 0; done < requests; done += connections) {
      const batch = await Promise.all(Array.from({ length: connections }, admitOne));
      // Let the event loop turn as a gateway's would between admission and settlement (timers, I/O).
      await new Promise((resolve) => setImmediate(resolve));
      await Promise.all(batch.map(settleOne));
      // At a gateway's request rate the 20 ms settlement batches (a commit and two fsyncs) are shared by fewer
      // requests than at full speed: --rate paces the loop so their cost per request is the gateway's.
      const due = started + ((done + connections) / rate) * 1000;
      const wait = due - performance.now();
      if (rate > 0 && wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    const cpu = process.cpuUsage(before);
    const wallMs = performance.now() - started;
    process.stderr.write(`  ${path.basename(dist)}: ${(wallMs / 1000).toFixed(2)} s wall, ${Math.round((requests / wallMs) * 1000)} req/s\n`);
    return (cpu.user + cpu.system) / requests;
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      dist: { type: 'string', multiple: true },
      requests: { type: 'string', default: '100000' },
      connections: { type: 'string', default: '64' },
      rounds: { type: 'string', default: '5' },
      rate: { type: 'string', default: '0' },
    },
  });
  const dists = (values.dist ?? []).map((d) => path.resolve(d));
  if (dists.length === 0) throw new Error('--dist DIR (a tsc build of src) is required');
  const samples = new Map<string, number[]>(dists.map((d) => [d, []]));
  for (let r = 0; r < Number(values.rounds); r++) {
    for (const dist of r % 2 === 0 ? dists : [...dists].reverse()) {
      samples.get(dist)?.push(await round(dist, Number(values.requests), Number(values.connections), Number(values.rate)));
    }
  }
  for (const [dist, list] of samples) {
    const sorted = [...list].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)] ?? NaN;
    process.stdout.write(`${dist}: median ${median.toFixed(2)} µs CPU per admit+settle (${list.map((x) => x.toFixed(2)).join(', ')}), c=${values.connections}${Number(values.rate) > 0 ? `, ${values.rate} req/s` : ', unpaced'}\n`);
  }
}

await main();
