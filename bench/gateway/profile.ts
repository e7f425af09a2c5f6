// Reads a V8 .cpuprofile (node --cpu-prof) and ranks functions by self time, so `bench:gateway --profile DIR`
// prints where the gateway's CPU goes without opening a flame graph tool (the files load in Chrome DevTools or
// speedscope for that).
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}

interface CpuProfile {
  startTime: number;
  endTime: number;
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  where: string;
  selfMs: number;
  /** Share of all sampled time, idle included. */
  pct: number;
}

function label(frame: CallFrame, root: string): { name: string; where: string } {
  const name = frame.functionName === '' ? '(anonymous)' : frame.functionName;
  if (frame.url === '') return { name, where: '' };
  let file = frame.url.replace(/^file:\/\//, '');
  if (file.startsWith(root)) file = path.relative(root, file);
  return { name, where: `${file}:${frame.lineNumber + 1}` };
}

/**
 * Self time per function over the profile's last `lastMs` milliseconds (all of it when absent): the measured window
 * is the end of the gateway's life, so start-up, key creation and warm-up can be left out.
 */
export function topSelfTime(file: string, root: string, limit = 25, lastMs?: number): { totalMs: number; idleMs: number; top: SelfTime[] } {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const from = lastMs === undefined ? -Infinity : profile.endTime - lastMs * 1000;
  let at = profile.startTime;
  const byId = new Map<number, ProfileNode>();
  for (const node of profile.nodes) byId.set(node.id, node);
  const selfUs = new Map<string, { name: string; where: string; us: number }>();
  let totalUs = 0;
  let idleUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i] as number);
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (!node || at < from) continue;
    totalUs += delta;
    if (node.callFrame.functionName === '(idle)') {
      idleUs += delta;
      continue;
    }
    const { name, where } = label(node.callFrame, root);
    const key = `${name}\u0000${where}`;
    const entry = selfUs.get(key) ?? { name, where, us: 0 };
    entry.us += delta;
    selfUs.set(key, entry);
  }
  const top = [...selfUs.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, limit)
    .map((e) => ({ name: e.name, where: e.where, selfMs: e.us / 1000, pct: totalUs > 0 ? (100 * e.us) / totalUs : 0 }));
  return { totalMs: totalUs / 1000, idleMs: idleUs / 1000, top };
}

export function formatTop(title: string, result: ReturnType<typeof topSelfTime>, requests: number): string {
  const busyMs = result.totalMs - result.idleMs;
  const lines = [
    `${title}: ${requests} requests, ${busyMs.toFixed(0)} ms busy of ${result.totalMs.toFixed(0)} ms sampled` +
      (requests > 0 ? ` (${((busyMs * 1000) / requests).toFixed(1)} µs sampled CPU per request)` : ''),
    '  self ms   self %  function (file:line)',
  ];
  for (const t of result.top) {
    lines.push(`  ${t.selfMs.toFixed(1).padStart(7)}  ${t.pct.toFixed(1).padStart(6)}%  ${t.name}${t.where === '' ? '' : ` (${t.where})`}`);
  }
  return lines.join('\n');
}
