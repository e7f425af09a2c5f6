// A quick A/B of gateway CPU per request for builds on a busy machine: each build's gateway (pinned to the gateway
// core) gets a warm-up and then a fixed number of requests, and its user+system CPU over exactly those requests is
// read from /proc/PID/stat (CPU time, not wall time, so other load on the machine distorts it much less). Builds
// alternate A, B, A, B… and the median per build is printed. The quiet-machine figures come from bench:gateway.
//
//   node --import tsx bench/gateway/cpu-ab.ts --dist A_DIR --dist B_DIR [--requests 3000] [--warmup 3000]
//     [--rounds 3] [--connections 1] [--limits] [--stream]
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { cpuTimes, spawnPinned, stopAll, stopChild, waitForLine } from './procs.js';
import { chatBody, CHAT_PATH, GATEWAY_CORE, GATEWAY_NODE_FLAGS, GATEWAY_SCENARIOS, LOAD_CORE } from './scenarios.js';
import { median } from './stats.js';

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

/** One round for one build: a fresh gateway, warm-up, then CPU µs per request over `requests` requests. */
async function round(dist: string, work: string, upstreamUrl: string, upstreamKey: string, options: { requests: number; warmup: number; connections: number; limits: boolean; stream: boolean }): Promise<number> {
  const token = `kwbench_${randomBytes(16).toString('hex')}`;
  const child = spawnPinned(
    GATEWAY_CORE,
    process.execPath,
    [...GATEWAY_NODE_FLAGS, path.join(dist, 'cli/bin.js'), 'serve', '--port', '0', '--data', path.join(work, randomBytes(4).toString('hex'))],
    { cwd: ROOT, env: { ...process.env, KEYWARDEN_ADMIN_TOKEN: token, KEYWARDEN_LOG_LEVEL: 'warn', KEYWARDEN_OUTBOUND_ALLOW: '127.0.0.1' } },
  );
  try {
    const [, origin] = await waitForLine(child, /listening on (http:\/\/\S+)/, 60_000, 'gateway');
    child.stdout?.resume();
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
    const limited = GATEWAY_SCENARIOS.find((s) => s.id === 'limits')?.key ?? {};
    const created = await admin('/keys', { name: 'ab', ...(options.limits ? limited : {}) });
    const key = created.key as string;
    const body = chatBody(options.stream);
    const pool = new Pool(origin as string, { connections: options.connections });
    try {
      await drive(pool, key, body, options.warmup, options.connections);
      await sleep(200);
      const pid = child.pid as number;
      const before = cpuTimes(pid);
      await drive(pool, key, body, options.requests, options.connections);
      await sleep(150); // the usage flush of the last batch lands inside the window
      const after = cpuTimes(pid);
      return (after.userUs + after.systemUs - before.userUs - before.systemUs) / options.requests;
    } finally {
      await pool.close();
    }
  } finally {
    await stopChild(child);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      dist: { type: 'string', multiple: true },
      requests: { type: 'string', default: '3000' },
      warmup: { type: 'string', default: '3000' },
      rounds: { type: 'string', default: '3' },
      connections: { type: 'string', default: '1' },
      limits: { type: 'boolean', default: false },
      stream: { type: 'boolean', default: false },
    },
  });
  const dists = (values.dist ?? [path.join(ROOT, 'dist')]).map((d) => path.resolve(d));
  const options = {
    requests: Number(values.requests),
    warmup: Number(values.warmup),
    connections: Number(values.connections),
    limits: values.limits,
    stream: values.stream,
  };
  const rounds = Number(values.rounds);
  const work = mkdtempSync(path.join(os.tmpdir(), 'kw-cpu-ab-'));
  try {
    const upstreamKey = `sk-bench-${randomBytes(24).toString('base64url')}`.slice(0, 41);
    const fake = spawnPinned(LOAD_CORE, process.execPath, ['--import', 'tsx', 'test/support/fake-openai-main.ts', '--port', '0', '--key', upstreamKey], { cwd: ROOT });
    const [upstreamUrl] = await waitForLine(fake, /^http:\/\/\S+\/v1$/m, 60_000, 'fake upstream');
    fake.stdout?.resume();
    fake.stderr?.resume();
    const samples = new Map<string, number[]>(dists.map((d) => [d, []]));
    for (let r = 0; r < rounds; r++) {
      for (const dist of r % 2 === 0 ? dists : [...dists].reverse()) {
        const us = await round(dist, work, upstreamUrl, upstreamKey, options);
        samples.get(dist)?.push(us);
        process.stderr.write(`[cpu-ab] round ${r + 1} ${path.relative(ROOT, dist) || dist}: ${us.toFixed(1)} µs/request\n`);
      }
    }
    const what = `${options.stream ? 'streamed' : 'non-streamed'}, c=${options.connections}${options.limits ? ', key with limits and budgets' : ''}, ${options.requests} requests × ${rounds} rounds`;
    for (const [dist, list] of samples) {
      process.stdout.write(`${path.relative(ROOT, dist) || dist}: median ${median(list).toFixed(1)} µs CPU/request (${list.map((x) => x.toFixed(1)).join(', ')}) — ${what}\n`);
    }
  } finally {
    await stopAll();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch(async (err: unknown) => {
  process.stderr.write(`cpu-ab: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  await stopAll();
  process.exitCode = 1;
});
