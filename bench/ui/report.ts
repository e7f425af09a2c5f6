// The markdown summary of a bench:ui run (also the README table snippet).
import type { ApiTiming } from './api.js';
import type { CpuComparison } from './cpu.js';
import type { PageTiming } from './page.js';

export interface UiResult {
  when: string;
  machine: { cpuModel: string; cpus: number; node: string };
  dataset: { records: number; keys: number; days: number; budgetedKeys: number; seedSeconds: number; rollupRows: number };
  targets: { apiMedianMs: number; pageReadyMs: number };
  api: ApiTiming[];
  page: PageTiming | { skipped: string };
  cpu: CpuComparison | { skipped: string };
  notes: string[];
}

const verdict = (ok: boolean): string => (ok ? '✅' : '❌');

export function uiMarkdown(r: UiResult): string {
  const lines = [
    `### bench:ui — ${r.dataset.records.toLocaleString('en-US')} usage records, ${r.dataset.keys} keys, ${r.dataset.days} days`,
    '',
    `${r.when}, ${r.machine.cpuModel} × ${r.machine.cpus}, Node ${r.machine.node}. Sequential calls after a warm-up.`,
    '',
    '| Call | Median | p95 | Target (median) |',
    '| --- | ---: | ---: | --- |',
    ...r.api.map((a) => `| ${a.id} | ${a.medianMs} ms | ${a.p95Ms} ms | ${a.id === 'keys list' ? 'n/a' : `≤ ${r.targets.apiMedianMs} ms ${verdict(a.medianMs <= r.targets.apiMedianMs)}`} |`),
  ];
  if ('skipped' in r.page) lines.push(`| console page ready | skipped | | ${r.page.skipped} |`);
  else lines.push(`| console page ready (cold context) | ${r.page.medianMs} ms | ${r.page.p95Ms} ms | ≤ ${r.targets.pageReadyMs} ms ${verdict(r.page.medianMs <= r.targets.pageReadyMs)} |`);
  if ('skipped' in r.cpu) lines.push('', `Gateway CPU with the console on/off: skipped (${r.cpu.skipped}).`);
  else {
    lines.push(
      '',
      `Gateway CPU per request (${r.cpu.point}, median of ${r.cpu.reps}): console on ${r.cpu.uiOnUsPerRequest.toFixed(1)} µs, off ${r.cpu.uiOffUsPerRequest.toFixed(1)} µs (${r.cpu.deltaPct >= 0 ? '+' : ''}${r.cpu.deltaPct.toFixed(1)} %).`,
    );
  }
  return `${lines.join('\n')}\n`;
}
