// `npm run bench:ui`: the console's data path at scale. Seeds a real SQLite data dir (200 keys, 1,000,000 usage
// records over 90 days, rollups as the monitor builds them), starts `keywarden serve` on it, and times the calls
// the console makes (overview, key detail, key stats, usage explorer): median and p95 of many sequential calls.
// Then the page load in headless Chromium (when the console is built and sign-in can be automated), and the
// gateway's CPU per request with the console on and off. Every child is started and stopped here.
//
//   node --import tsx bench/ui/run.ts [--records 1000000] [--keys 200] [--days 90] [--reps 30] [--page-reps 10]
//     [--cpu-reps 3] [--cpu-duration 3] [--no-page] [--no-cpu] [--out bench/results/ui.json]
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { killAllNow, spawnPinned, stopChild, waitForLine } from '../gateway/procs.js';
import { GATEWAY_CORE, GATEWAY_NODE_FLAGS } from '../gateway/scenarios.js';
import { timeApi, type ApiTiming } from './api.js';
import { compareUiCpu, type CpuComparison } from './cpu.js';
import { signInWithSetupLink, timePageLoad, type PageTiming } from './page.js';
import { uiMarkdown } from './report.js';
import { seedUsage, type SeedResult } from './seed.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DAY = 86_400_000;
const log = (message: string): void => void process.stderr.write(`[bench:ui] ${message}\n`);
/** The targets. */
export const UI_TARGETS = { apiMedianMs: 100, pageReadyMs: 1000 };

interface Server {
  origin: string;
  stop(): Promise<void>;
  /** Everything the server printed (the first-run setup link is read from it). */
  output(): string;
}

async function startServe(dist: string, dataDir: string, token: string): Promise<Server> {
  const child = spawnPinned(GATEWAY_CORE, process.execPath, [...GATEWAY_NODE_FLAGS, path.join(dist, 'cli/bin.js'), 'serve', '--port', '0', '--data', dataDir], {
    cwd: ROOT,
    env: { ...process.env, KEYWARDEN_ADMIN_TOKEN: token, KEYWARDEN_LOG_LEVEL: 'warn', KEYWARDEN_OUTBOUND_ALLOW: '127.0.0.1' },
  });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  const [, origin] = await waitForLine(child, /listening on (http:\/\/\S+)/, 60_000, 'keywarden serve');
  if (origin === undefined) throw new Error('serve start-up line without an address');
  return { origin, stop: () => stopChild(child, 10_000), output: () => text };
}

async function adminPost(origin: string, token: string, route: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${origin}/admin/v1${route}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`POST ${route}: ${res.status} ${JSON.stringify(json).slice(0, 300)}`);
  return json;
}

function positiveInt(value: string | undefined, name: string, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`--${name} must be a whole number in 1..${max}`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      records: { type: 'string', default: '1000000' },
      keys: { type: 'string', default: '200' },
      days: { type: 'string', default: '90' },
      reps: { type: 'string', default: '30' },
      'page-reps': { type: 'string', default: '10' },
      'cpu-reps': { type: 'string', default: '3' },
      'cpu-duration': { type: 'string', default: '3' },
      'no-page': { type: 'boolean', default: false },
      'no-cpu': { type: 'boolean', default: false },
      out: { type: 'string', default: 'bench/results/ui.json' },
    },
  });
  const records = positiveInt(values.records, 'records', 10_000_000);
  const keyCount = positiveInt(values.keys, 'keys', 5_000);
  const days = positiveInt(values.days, 'days', 365);
  const reps = positiveInt(values.reps, 'reps', 1_000);
  const pageReps = positiveInt(values['page-reps'], 'page-reps', 100);
  const cpuReps = positiveInt(values['cpu-reps'], 'cpu-reps', 9);
  const cpuDuration = positiveInt(values['cpu-duration'], 'cpu-duration', 30);
  const dist = path.join(ROOT, 'dist');
  if (!existsSync(path.join(dist, 'cli/bin.js'))) {
    log('building (npm run build)');
    if (spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit', timeout: 300_000 }).status !== 0) throw new Error('npm run build failed');
  }
  const workDir = path.join(ROOT, 'bench/.work', `ui-${process.pid}`);
  mkdirSync(workDir, { recursive: true });
  const dataDir = path.join(workDir, 'data');
  const token = `kwbench_${randomBytes(16).toString('hex')}`;
  const notes: string[] = [];
  try {
    // 1. Keys (and an upstream) through the admin API, so they are real keys; a quarter with budgets.
    let server = await startServe(dist, dataDir, token);
    const upstream = await adminPost(server.origin, token, '/upstreams', { name: 'bench-upstream', provider: 'openai-compatible', base_url: 'http://127.0.0.1:9/v1', keys: [`sk-bench-${randomBytes(20).toString('hex')}`] });
    const keyIds: string[] = [];
    const budgeted = new Set<string>();
    for (let i = 0; i < keyCount; i++) {
      const withBudget = i % 4 === 0;
      const key = await adminPost(server.origin, token, '/keys', {
        name: `bench-key-${String(i).padStart(4, '0')}`,
        ...(withBudget ? { limits: { budgets: [{ usd: 5 + (i % 50), period: 'day' }, { usd: 500, period: 'month' }] } } : {}),
      });
      keyIds.push(String(key.id));
      if (withBudget) budgeted.add(String(key.id));
    }
    const setupLink = /setup#token=([A-Za-z0-9_-]+)/.exec(server.output())?.[1];
    await server.stop();

    // 2. Usage history and rollups, written with the server stopped (one writer).
    const now = Date.now();
    log(`seeding ${records.toLocaleString('en-US')} usage records over ${days} days for ${keyCount} keys`);
    const seed: SeedResult = await seedUsage({ dataDir, keyIds, budgetedKeyIds: budgeted, upstreamId: String(upstream.id), records, days, now, minuteRetentionMs: 2 * DAY });
    log(`seeded in ${seed.seconds.toFixed(1)} s (${seed.rollupRows.toLocaleString('en-US')} rollup rows)`);

    // 3. The console's API calls.
    server = await startServe(dist, dataDir, token);
    const busiest = keyIds[0] as string;
    const quiet = keyIds[keyIds.length - 1] as string;
    const since30 = new Date(Date.now() - 30 * DAY).toISOString();
    const calls: Array<[string, string]> = [
      ['overview', '/admin/v1/stats/overview'],
      ['overview (tz=America/New_York)', '/admin/v1/stats/overview?tz=America%2FNew_York'],
      ['key detail (busiest key)', `/admin/v1/keys/${busiest}`],
      ['key stats (busiest key, 30 d)', `/admin/v1/keys/${busiest}/stats?days=30`],
      ['key stats (quiet key, 30 d)', `/admin/v1/keys/${quiet}/stats?days=30`],
      ['usage explorer (key, day; 30 d)', `/admin/v1/usage?group_by=key,day&since=${since30}`],
      ['usage explorer (upstream, hour; 7 d)', '/admin/v1/usage?group_by=upstream,hour'],
      ['keys list', '/admin/v1/keys'],
    ];
    const api: ApiTiming[] = [];
    for (const [id, route] of calls) {
      const timing = await timeApi(server.origin, token, id, route, reps);
      api.push(timing);
      log(`${id}: median ${timing.medianMs} ms, p95 ${timing.p95Ms} ms (${timing.bytes} bytes)`);
    }

    // 4. The page, when the console is built and can be signed into.
    let page: PageTiming | { skipped: string };
    if (values['no-page']) page = { skipped: '--no-page' };
    else if (!existsSync(path.join(dist, 'console/index.html'))) page = { skipped: 'dist/console/index.html not found (console not built in this checkout)' };
    else if (!setupLink) page = { skipped: 'serve printed no first-run setup link (console sign-in not available in this build)' };
    else {
      const cookie = await signInWithSetupLink(server.origin, setupLink);
      page = await timePageLoad(server.origin, cookie, pageReps);
      log(`page ready: median ${page.medianMs} ms, p95 ${page.p95Ms} ms`);
    }
    if ('skipped' in page) notes.push(`page load skipped: ${page.skipped}`);
    await server.stop();

    // 5. Gateway CPU per request, console on vs off.
    let cpu: CpuComparison | { skipped: string };
    if (values['no-cpu']) cpu = { skipped: '--no-cpu' };
    else cpu = await compareUiCpu(ROOT, dist, workDir, cpuReps, cpuDuration, log);
    if ('skipped' in cpu) notes.push(`gateway CPU comparison skipped: ${cpu.skipped}`);

    const result = {
      when: new Date().toISOString(),
      machine: { cpuModel: os.cpus()[0]?.model ?? 'unknown', cpus: os.cpus().length, node: process.version },
      dataset: { records, keys: keyCount, days, budgetedKeys: budgeted.size, seedSeconds: seed.seconds, rollupRows: seed.rollupRows },
      targets: UI_TARGETS,
      api,
      page,
      cpu,
      notes,
    };
    const out = path.resolve(ROOT, values.out);
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(out.replace(/\.json$/, '.md'), uiMarkdown(result));
    process.stdout.write(uiMarkdown(result));
    for (const note of notes) log(note);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

process.once('SIGINT', () => {
  killAllNow();
  process.exit(130);
});
main().catch((err: unknown) => {
  killAllNow();
  process.stderr.write(`[bench:ui] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
