// The gateway's CPU per proxied request with the console on and off: two gateways (config `ui.enabled` true and
// false) on the gateway core, measured with bench/gateway's wrk window and /proc counters, alternating.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { measureWrk, type Bodies, type Processes, type Target } from '../gateway/measure.js';
import { spawnPinned, stopChild, waitForLine } from '../gateway/procs.js';
import { chatBody, GATEWAY_CORE, GATEWAY_NODE_FLAGS, LOAD_CORE, LOAD_POINTS } from '../gateway/scenarios.js';
import { median } from '../gateway/stats.js';

export interface CpuComparison {
  point: string;
  reps: number;
  durationS: number;
  uiOnUsPerRequest: number;
  uiOffUsPerRequest: number;
  /** (on − off) / off, in percent. */
  deltaPct: number;
  samples: Array<{ ui: 'on' | 'off'; rep: number; cpuUsPerRequest: number; reqPerSec: number; foreignGatewayCorePct: number }>;
}

async function post(origin: string, token: string, route: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${origin}/admin/v1${route}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`POST ${route}: ${res.status} ${JSON.stringify(json).slice(0, 300)}`);
  return json;
}

/** Null with the reason when this build has no `ui.enabled` switch (the console is not merged yet). */
export async function compareUiCpu(root: string, dist: string, workDir: string, reps: number, durationS: number, log: (m: string) => void): Promise<CpuComparison | { skipped: string }> {
  const bodies: Bodies = {
    json: { file: path.join(workDir, 'chat.json'), bytes: chatBody(false) },
    sse: { file: path.join(workDir, 'chat-stream.json'), bytes: chatBody(true) },
  };
  writeFileSync(bodies.json.file, bodies.json.bytes);
  writeFileSync(bodies.sse.file, bodies.sse.bytes);
  const upstreamKey = `sk-bench-${randomBytes(24).toString('base64url')}`.slice(0, 41);
  const fake = spawnPinned(LOAD_CORE, process.execPath, ['--import', 'tsx', 'test/support/fake-openai-main.ts', '--port', '0', '--key', upstreamKey], { cwd: root });
  const children = [fake];
  try {
    const [upstreamUrl] = await waitForLine(fake, /^http:\/\/\S+\/v1$/m, 15_000, 'fake upstream');
    fake.stdout?.resume();
    fake.stderr?.resume();
    const targets: Record<'on' | 'off', Target> = {} as Record<'on' | 'off', Target>;
    for (const ui of ['on', 'off'] as const) {
      const config = path.join(workDir, `ui-${ui}.json`);
      writeFileSync(config, JSON.stringify({ ui: { enabled: ui === 'on' } }));
      const token = `kwbench_${randomBytes(16).toString('hex')}`;
      const child = spawnPinned(GATEWAY_CORE, process.execPath, [...GATEWAY_NODE_FLAGS, path.join(dist, 'cli/bin.js'), 'serve', '--port', '0', '--config', config, '--data', path.join(workDir, `cpu-${ui}`)], {
        cwd: root,
        env: { ...process.env, KEYWARDEN_ADMIN_TOKEN: token, KEYWARDEN_LOG_LEVEL: 'warn', KEYWARDEN_OUTBOUND_ALLOW: '127.0.0.1' },
      });
      children.push(child);
      let origin: string | undefined;
      try {
        [, origin] = await waitForLine(child, /listening on (http:\/\/\S+)/, 15_000, `gateway ui=${ui}`);
      } catch (err) {
        const text = err instanceof Error ? err.message : String(err);
        if (/ui/.test(text) && /enabled|Unrecognized|unknown/i.test(text)) return { skipped: 'this build has no ui.enabled switch (the console branch is not merged)' };
        throw err;
      }
      if (origin === undefined || child.pid === undefined) throw new Error('gateway start-up line without an address');
      child.stdout?.resume();
      child.stderr?.resume();
      await post(origin, token, '/upstreams', { name: 'fake', provider: 'openai-compatible', base_url: upstreamUrl, keys: [upstreamKey] });
      const created = await post(origin, token, '/keys', { name: `bench-ui-${ui}` });
      targets[ui] = { id: `ui-${ui}`, origin, key: String(created.key), pid: child.pid };
    }
    const procs: Processes = { gateways: [targets.on.pid as number, targets.off.pid as number], all: [process.pid, fake.pid as number, targets.on.pid as number, targets.off.pid as number] };
    const point = LOAD_POINTS.find((p) => p.id === 'json-c64') ?? { id: 'json-c64', stream: false, connections: 64 };
    for (const target of [targets.on, targets.off]) await measureWrk(target, procs, point, 0, bodies, 2);
    const samples: CpuComparison['samples'] = [];
    for (let rep = 1; rep <= reps; rep++) {
      for (const ui of rep % 2 === 1 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
        const sample = await measureWrk(targets[ui], procs, point, rep, bodies, durationS);
        if (sample.errors > 0) throw new Error(`ui=${ui}: ${sample.errors} errors in ${sample.requests} requests`);
        samples.push({ ui, rep, cpuUsPerRequest: sample.gateway?.cpuUsPerRequest ?? NaN, reqPerSec: sample.reqPerSec, foreignGatewayCorePct: sample.noise.foreignGatewayCorePct });
        log(`cpu rep ${rep} ui=${ui}: ${sample.gateway?.cpuUsPerRequest.toFixed(1)} µs/req, ${Math.round(sample.reqPerSec)} req/s`);
      }
    }
    const on = median(samples.filter((s) => s.ui === 'on').map((s) => s.cpuUsPerRequest));
    const off = median(samples.filter((s) => s.ui === 'off').map((s) => s.cpuUsPerRequest));
    return { point: point.id, reps, durationS, uiOnUsPerRequest: on, uiOffUsPerRequest: off, deltaPct: (100 * (on - off)) / off, samples };
  } finally {
    await Promise.all(children.map((c) => stopChild(c)));
  }
}
