// The benchmark's reference targets besides direct: the floor (a bare Node proxy, floor.ts) and a peer gateway,
// Portkey's open-source gateway from npm. Both run pinned to the gateway's core like keywarden, point at the same
// fake upstream, and have their CPU read from /proc like keywarden's.
//
// Portkey is not a project dependency: it is installed on demand into bench/.peers (gitignored). When it cannot be
// installed or started, the run goes on without it and the report says why.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import type { Target } from './measure.js';
import { spawnPinned, waitForLine } from './procs.js';
import { GATEWAY_CORE, GATEWAY_NODE_FLAGS } from './scenarios.js';

export const PORTKEY_PACKAGE = '@portkey-ai/gateway@1.15.2';

/**
 * `extraNodeFlags` and `cwd`: e.g. `--perf-prof` and the directory its JIT dump goes to (cpu-ab --perf), so the floor's
 * JavaScript frames have names in a recording as the gateway's do. tsx is loaded by absolute URL, so any cwd works.
 */
export async function startFloor(
  root: string,
  upstreamUrl: string,
  upstreamKey: string,
  options: { extraNodeFlags?: readonly string[]; cwd?: string } = {},
): Promise<Target & { stdout: Readable | null }> {
  const tsx = pathToFileURL(createRequire(path.join(root, 'package.json')).resolve('tsx')).href;
  const child = spawnPinned(
    GATEWAY_CORE,
    process.execPath,
    [...GATEWAY_NODE_FLAGS, ...(options.extraNodeFlags ?? []), '--import', tsx, path.join(root, 'bench/gateway/floor.ts'), '--upstream', upstreamUrl, '--key', upstreamKey],
    { cwd: options.cwd ?? root },
  );
  const [, origin] = await waitForLine(child, /floor listening on (http:\/\/\S+)/, 15_000, 'floor proxy');
  if (origin === undefined || child.pid === undefined) throw new Error('floor start-up line without an address');
  child.stdout?.resume();
  child.stderr?.resume();
  // The floor swaps whatever key it is given, so the client presents a key of the same length as elsewhere.
  // Its stdout is handed on for whoever reads what the flags make Node print there (cpu-ab --gc).
  return { id: 'floor', origin, key: 'kw_'.padEnd(upstreamKey.length, 'f'), pid: child.pid, stdout: child.stdout };
}

export type PeerStart = { target: Target } | { unavailable: string };

/** Installs Portkey into bench/.peers unless it is there already. Returns the entry script, or why not. */
function installPortkey(root: string, log: (message: string) => void): string | { unavailable: string } {
  const prefix = path.join(root, 'bench/.peers');
  const entry = path.join(prefix, 'node_modules/@portkey-ai/gateway/build/start-server.js');
  if (existsSync(entry)) return entry;
  log(`installing ${PORTKEY_PACKAGE} into bench/.peers (not a project dependency)`);
  const result = spawnSync('npm', ['install', '--prefix', prefix, '--no-audit', '--no-fund', '--no-save', PORTKEY_PACKAGE], {
    cwd: root,
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (result.status !== 0 || !existsSync(entry)) {
    const why = (result.stderr || result.error?.message || `exit ${result.status}`).trim().split('\n').slice(-3).join(' ');
    return { unavailable: `npm install ${PORTKEY_PACKAGE} failed: ${why}` };
  }
  return entry;
}

/** Portkey routes to an OpenAI-compatible custom host named per request in its headers. */
export async function startPortkey(root: string, upstreamUrl: string, upstreamKey: string, port: number, log: (message: string) => void): Promise<PeerStart> {
  const entry = installPortkey(root, log);
  if (typeof entry !== 'string') return entry;
  const child = spawnPinned(GATEWAY_CORE, process.execPath, [...GATEWAY_NODE_FLAGS, entry, `--port=${port}`, '--headless'], {
    cwd: path.dirname(entry),
    env: { ...process.env, NODE_ENV: 'production' },
  });
  try {
    await waitForLine(child, /Ready for connections/, 20_000, 'portkey');
  } catch (err) {
    child.kill('SIGKILL');
    return { unavailable: `portkey did not start: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}` };
  }
  if (child.pid === undefined) return { unavailable: 'portkey started without a pid' };
  child.stdout?.resume();
  child.stderr?.resume();
  return {
    target: {
      id: 'portkey',
      origin: `http://127.0.0.1:${port}`,
      key: upstreamKey,
      pid: child.pid,
      headers: { 'x-portkey-provider': 'openai', 'x-portkey-custom-host': upstreamUrl },
      lenient: true,
    },
  };
}
