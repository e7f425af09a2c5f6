// Turns raw samples into medians, target verdicts and the README table.
import { readFileSync, writeFileSync } from 'node:fs';
import type { TtfcSample, WrkSample } from './measure.js';
import { FLOOR_ID, LOAD_POINTS, PAIRED_FLOOR_C64_POINT, PAIRED_P50_POINT, PAIRED_POINT, PAIRED_TTFC_POINT, PAIRED_WINDOWS_POINT, PORTKEY_ID, TARGETS, type GatewayScenario } from './scenarios.js';
import { median } from './stats.js';
import type { WakeCost } from './wake-probe.js';

export interface TargetSummary {
  id: string;
  reqPerSec: number;
  p50Us: number;
  p99Us: number;
  ttfcP50Us: number | null;
  ttfcP99Us: number | null;
  /** Gateway scenarios only. */
  cpuUsPerRequest: number | null;
  rssMaxKb: number | null;
  /** Differences to the direct baseline, gateway scenarios only. */
  addedP50Us: number | null;
  addedP99Us: number | null;
  addedTtfcP50Us: number | null;
  throughputRatio: number | null;
  /** Gateway CPU per request as a multiple of the floor's at the same point (null without a floor). */
  cpuVsFloor: number | null;
  /** Failed requests (socket errors and non-2xx) summed over the repetitions; only a lenient peer may have any. */
  errors: number;
}

export interface PointSummary {
  point: string;
  stream: boolean;
  connections: number;
  targets: TargetSummary[];
}

export interface Verdict {
  name: string;
  measured: number;
  unit: string;
  limit: number;
  /** `max`: measured must be ≤ limit; `min`: ≥ limit. */
  kind: 'max' | 'min';
  pass: boolean;
}

export function summarize(wrk: readonly WrkSample[], ttfc: readonly TtfcSample[], targetIds: readonly string[]): PointSummary[] {
  return LOAD_POINTS.map((point) => {
    const forTarget = (id: string): Omit<TargetSummary, 'addedP50Us' | 'addedP99Us' | 'addedTtfcP50Us' | 'throughputRatio' | 'cpuVsFloor'> => {
      const w = wrk.filter((s) => s.point === point.id && s.target === id);
      const t = ttfc.filter((s) => s.point === point.id && s.target === id);
      const gw = w.flatMap((s) => (s.gateway ? [s.gateway] : []));
      return {
        id,
        reqPerSec: median(w.map((s) => s.reqPerSec)),
        p50Us: median(w.map((s) => s.latencyUs.p50)),
        p99Us: median(w.map((s) => s.latencyUs.p99)),
        ttfcP50Us: t.length > 0 ? median(t.map((s) => s.ttfcUs.p50)) : null,
        ttfcP99Us: t.length > 0 ? median(t.map((s) => s.ttfcUs.p99)) : null,
        cpuUsPerRequest: gw.length > 0 ? median(gw.map((g) => g.cpuUsPerRequest)) : null,
        rssMaxKb: gw.length > 0 ? Math.max(...gw.map((g) => g.rssMaxKb)) : null,
        errors: w.reduce((sum, s) => sum + s.errors, 0) + t.reduce((sum, s) => sum + s.errors, 0),
      };
    };
    const direct = forTarget('direct');
    const floorCpu = targetIds.includes(FLOOR_ID) ? forTarget(FLOOR_ID).cpuUsPerRequest : null;
    // A target measured at some points only (a paired plain key) has no row at the others.
    const measuredHere = targetIds.filter((id) => id === 'direct' || wrk.some((s) => s.point === point.id && s.target === id));
    const targets: TargetSummary[] = measuredHere.map((id) => {
      const s = forTarget(id);
      const isDirect = id === 'direct';
      return {
        ...s,
        addedP50Us: isDirect ? null : s.p50Us - direct.p50Us,
        addedP99Us: isDirect ? null : s.p99Us - direct.p99Us,
        addedTtfcP50Us: isDirect || s.ttfcP50Us === null || direct.ttfcP50Us === null ? null : s.ttfcP50Us - direct.ttfcP50Us,
        throughputRatio: isDirect ? null : s.reqPerSec / direct.reqPerSec,
        cpuVsFloor: isDirect || floorCpu === null || s.cpuUsPerRequest === null ? null : s.cpuUsPerRequest / floorCpu,
      };
    });
    return { point: point.id, stream: point.stream, connections: point.connections, targets };
  });
}

/** A target's summary at a point; NaN figures when it was not measured (e.g. Portkey could not be installed). */
function find(points: readonly PointSummary[], point: string, target: string): TargetSummary {
  const found = points.find((p) => p.point === point)?.targets.find((t) => t.id === target);
  if (found) return found;
  return {
    id: target,
    reqPerSec: NaN,
    p50Us: NaN,
    p99Us: NaN,
    ttfcP50Us: null,
    ttfcP99Us: null,
    cpuUsPerRequest: null,
    rssMaxKb: null,
    addedP50Us: null,
    addedP99Us: null,
    addedTtfcP50Us: null,
    throughputRatio: null,
    cpuVsFloor: null,
    errors: 0,
  };
}

/** A peer's figure only counts when all its requests succeeded. */
function clean(t: TargetSummary, value: number | null): number {
  return t.errors === 0 && value !== null ? value : NaN;
}

/**
 * `paired` and `pairedTtfc`: the raw wrk and first-chunk samples, for the comparisons in alternating windows (a
 * scenario beside a plain key on its own gateway, pairedPlainKey; the first scenario beside the floor at c=1).
 */
export function verdicts(
  points: readonly PointSummary[],
  scenarios: readonly GatewayScenario[],
  paired?: readonly WrkSample[],
  pairedTtfc?: readonly TtfcSample[],
): Verdict[] {
  const base = scenarios[0];
  if (!base) return [];
  const v = (name: string, measured: number, unit: string, limit: number, kind: 'max' | 'min'): Verdict => ({
    name,
    measured,
    unit,
    limit,
    kind,
    pass: kind === 'max' ? measured <= limit : measured >= limit,
  });
  const rss = Math.max(...points.flatMap((p) => p.targets.filter((t) => t.id === base.id).map((t) => t.rssMaxKb ?? 0))) / 1024;
  const gw64 = find(points, 'json-c64', base.id);
  const floor64 = find(points, 'json-c64', FLOOR_ID);
  const portkey64 = find(points, 'json-c64', PORTKEY_ID);
  const floorC1 = find(points, 'json-c1', FLOOR_ID);
  const floorSse = find(points, 'sse-c1', FLOOR_ID);
  const latency = pairedLatencyDeltas(paired ?? [], pairedTtfc ?? [], base.id);
  // Only in results that have the alternating c=1 windows (not older files, nor runs without the floor).
  const pairedC1 = (deltasUs: readonly number[], what: string, limitMs: number): Verdict[] =>
    deltasUs.length === 0
      ? []
      : [v(`the same, paired: ${base.label} vs the floor in alternating windows (median of per-repetition differences, c=1, ${what})`, median(deltasUs) / 1000, 'ms', limitMs, 'max')];
  const c64 = pairedFloorC64(paired ?? [], base.id);
  // Only in results that have the alternating c=64 windows with the floor.
  const pairedC64 = (values: readonly number[], what: string, limit: number, kind: 'max' | 'min'): Verdict[] =>
    values.length === 0 ? [] : [v(`the same, paired: ${base.label} vs the floor in alternating windows (median of per-repetition ${what}, c=64)`, median(values), '×', limit, kind)];
  const out = [
    v('gateway CPU per non-streamed request (c=64), × the floor\'s', gw64.cpuVsFloor ?? NaN, '×', TARGETS.cpuVsFloor, 'max'),
    ...pairedC64(c64.cpuRatios, 'CPU ratios', TARGETS.cpuVsFloor, 'max'),
    v('throughput, c=64, non-streamed, share of the floor\'s', gw64.reqPerSec / clean(floor64, floor64.reqPerSec), '×', TARGETS.throughputVsFloor, 'min'),
    ...pairedC64(c64.throughputShares, 'throughput shares', TARGETS.throughputVsFloor, 'min'),
    v('throughput, c=64, non-streamed, × Portkey\'s', gw64.reqPerSec / clean(portkey64, portkey64.reqPerSec), '×', TARGETS.throughputVsPortkey, 'min'),
    v(
      'added p50 latency, c=1, non-streamed, over the floor\'s',
      ((find(points, 'json-c1', base.id).addedP50Us ?? NaN) - clean(floorC1, floorC1.addedP50Us)) / 1000,
      'ms',
      TARGETS.addedP50OverFloorMs,
      'max',
    ),
    ...pairedC1(latency.p50Us, 'non-streamed', TARGETS.addedP50OverFloorMs),
    v(
      'added time to first chunk, c=1, over the floor\'s',
      ((find(points, 'sse-c1', base.id).addedTtfcP50Us ?? NaN) - clean(floorSse, floorSse.addedTtfcP50Us)) / 1000,
      'ms',
      TARGETS.addedTtfcOverFloorMs,
      'max',
    ),
    ...pairedC1(latency.ttfcUs, 'first chunk', TARGETS.addedTtfcOverFloorMs),
    v('gateway RSS under load (peak VmRSS)', rss, 'MB', TARGETS.rssMb, 'max'),
  ];
  for (const scenario of scenarios) {
    const cost = scenario.extraCpu;
    if (!cost || !scenarios.some((s) => s.id === cost.over)) continue;
    const extra = (find(points, 'json-c64', scenario.id).cpuUsPerRequest ?? NaN) - (find(points, 'json-c64', cost.over).cpuUsPerRequest ?? NaN);
    out.push(v(`gateway CPU added by ${cost.what} ("${scenario.label}" vs "${cost.over}", c=64)`, extra, 'µs', cost.maxUs, 'max'));
    if (scenario.pairedPlainKey !== undefined && paired) {
      const deltas = pairedDeltas(paired, scenario.id, scenario.pairedPlainKey);
      if (deltas.length > 0) {
        out.push(v(`the same, paired: "${scenario.label}" vs a key without limits on the same gateway process (alternating windows; median of per-repetition differences, c=64)`, median(deltas), 'µs', cost.maxUs, 'max'));
      }
    }
  }
  return out;
}

/** A target's gateway CPU per request in one repetition at c=64, non-streamed (NaN when it was not measured). */
function cpuAt(wrk: readonly WrkSample[], target: string, rep: number): number {
  return wrk.find((s) => s.point === PAIRED_POINT && s.target === target && s.rep === rep)?.gateway?.cpuUsPerRequest ?? NaN;
}

/**
 * CPU of `target` minus CPU of `plain` at c=64, per repetition in which both were measured: over their alternating
 * windows (PAIRED_WINDOWS_POINT), or, in results from before those existed, their one window each.
 */
export function pairedDeltas(wrk: readonly WrkSample[], target: string, plain: string): number[] {
  // Results written before the alternating windows existed: one window per key and repetition.
  const point = wrk.some((s) => s.point === PAIRED_WINDOWS_POINT) ? PAIRED_WINDOWS_POINT : PAIRED_POINT;
  return windowsDeltas(wrk, point, target, plain, (s) => s.gateway?.cpuUsPerRequest);
}

/**
 * p50 latency (µs) of `target` minus the floor's at c=1, per repetition in which both were measured, over their
 * alternating windows: non-streamed (wrk, PAIRED_P50_POINT) and first chunk (PAIRED_TTFC_POINT). Empty for results
 * without those windows.
 */
export function pairedLatencyDeltas(wrk: readonly WrkSample[], ttfc: readonly TtfcSample[], target: string): { p50Us: number[]; ttfcUs: number[] } {
  return {
    p50Us: windowsDeltas(wrk, PAIRED_P50_POINT, target, FLOOR_ID, (s) => s.latencyUs.p50),
    ttfcUs: windowsDeltas(ttfc, PAIRED_TTFC_POINT, target, FLOOR_ID, (s) => s.ttfcUs.p50),
  };
}

/**
 * The first scenario against the floor at c=64, non-streamed, per repetition in which both have alternating windows
 * (PAIRED_FLOOR_C64_POINT): CPU per request as a multiple of the floor's (each side weighted over its windows by
 * requests), and throughput as a share of the floor's (each side's requests over its windows' summed duration).
 * Empty for results without those windows.
 */
export function pairedFloorC64(wrk: readonly WrkSample[], target: string): { cpuRatios: number[]; throughputShares: number[] } {
  // A side's request-weighted mean of 1/req/s is its windows' summed time over their requests, so the floor's mean
  // over the target's is the target's throughput over the floor's.
  const secondsPerRequest = (s: WrkSample): number | undefined => (s.reqPerSec > 0 ? 1 / s.reqPerSec : undefined);
  return {
    cpuRatios: windowsCompare(wrk, PAIRED_FLOOR_C64_POINT, target, FLOOR_ID, (s) => s.gateway?.cpuUsPerRequest, (a, b) => a / b),
    throughputShares: windowsCompare(wrk, PAIRED_FLOOR_C64_POINT, target, FLOOR_ID, secondsPerRequest, (a, b) => b / a),
  };
}

/** The fields of a wrk or first-chunk sample that identify its window and weigh it. */
type Window = Pick<WrkSample, 'point' | 'target' | 'rep' | 'requests'>;

/** `value` of `target` minus that of `other` at `point`, per repetition in which both have windows there. */
function windowsDeltas<S extends Window>(samples: readonly S[], point: string, target: string, other: string, value: (s: S) => number | undefined): number[] {
  return windowsCompare(samples, point, target, other, value, (a, b) => a - b);
}

/**
 * `compare(target's value, other's value)` at `point`, each weighted over its windows by requests, per repetition in
 * which both have windows there; non-finite results (a side without the value) are left out.
 */
function windowsCompare<S extends Window>(
  samples: readonly S[],
  point: string,
  target: string,
  other: string,
  value: (s: S) => number | undefined,
  compare: (targetValue: number, otherValue: number) => number,
): number[] {
  const reps = [...new Set(samples.filter((s) => s.point === point && s.target === other).map((s) => s.rep))].sort((a, b) => a - b);
  return reps.map((rep) => compare(windowsMean(samples, point, target, rep, value), windowsMean(samples, point, other, rep, value))).filter(Number.isFinite);
}

/**
 * `value` of `target` over all its windows at `point` in one repetition, weighted by their requests; NaN when it
 * has none. Windows without the value (no gateway CPU) are left out.
 */
function windowsMean<S extends Window>(samples: readonly S[], point: string, target: string, rep: number, value: (s: S) => number | undefined): number {
  let sum = 0;
  let requests = 0;
  for (const s of samples) {
    const x = s.point === point && s.target === target && s.rep === rep ? value(s) : undefined;
    if (x === undefined) continue;
    sum += x * s.requests;
    requests += s.requests;
  }
  return requests > 0 ? sum / requests : NaN;
}

/**
 * The same comparisons per repetition: every target is measured back to back within a repetition, so a ratio or
 * difference taken inside one repetition is not moved by the machine's speed drifting between repetitions (the
 * medians in the table come from different minutes). Shown beside the verdicts, which stay on the medians.
 */
export function pairedNote(wrk: readonly WrkSample[], scenarios: readonly GatewayScenario[]): string | null {
  const base = scenarios[0];
  if (!base) return null;
  const reps = [...new Set(wrk.filter((s) => s.point === 'json-c64' && s.target === base.id).map((s) => s.rep))].sort((a, b) => a - b);
  if (reps.length === 0) return null;
  const parts: string[] = [];
  const ratios = reps.map((rep) => cpuAt(wrk, base.id, rep) / cpuAt(wrk, FLOOR_ID, rep));
  if (ratios.some(Number.isFinite)) parts.push(`CPU × floor ${ratios.map((r) => fixed(r, 2)).join(', ')} (median ${fixed(median(ratios), 2)})`);
  for (const scenario of scenarios) {
    const cost = scenario.extraCpu;
    if (!cost || !scenarios.some((x) => x.id === cost.over)) continue;
    const deltas = reps.map((rep) => cpuAt(wrk, scenario.id, rep) - cpuAt(wrk, cost.over, rep));
    parts.push(`"${scenario.label}" − "${cost.over}" ${deltas.map(signed).join(', ')} µs (median ${signed(median(deltas))})`);
    if (scenario.pairedPlainKey !== undefined) {
      const inProcess = pairedDeltas(wrk, scenario.id, scenario.pairedPlainKey);
      if (inProcess.length > 0) parts.push(`"${scenario.label}" − a key without limits on the same gateway ${inProcess.map(signed).join(', ')} µs (median ${signed(median(inProcess))})`);
    }
  }
  return parts.length === 0 ? null : `Per repetition at c=64, non-streamed (each repetition measures every target back to back): ${parts.join('; ')}.`;
}

/**
 * CPU that each target's other threads (V8's GC helpers, mostly) used per request at c=64, non-streamed, per
 * repetition: they share the gateway's core, so the event loop waits while they run, and a target whose figure jumps
 * between repetitions is one whose young-generation GC did (see the README on PostgreSQL + Redis). Null when the
 * samples predate the counters.
 */
export function offMainThreadNote(wrk: readonly WrkSample[], targets: readonly { id: string; label: string }[]): string | null {
  const parts: string[] = [];
  for (const target of targets) {
    const values = c64Series(wrk, target.id, (s) => s.gateway?.sched?.offMainThreadUs);
    if (values.length === 0) continue;
    parts.push(`"${target.label}" ${values.map((v) => fixed(v, 0)).join(', ')} (median ${fixed(median(values), 0)})`);
  }
  return parts.length === 0 ? null : `CPU off the main thread per request at c=64, non-streamed, per repetition, in µs (V8's GC helpers, mostly; they share the gateway's core): ${parts.join('; ')}.`;
}

/**
 * How often each target's answers woke wrk or the fake upstream on the load core, per request at c=64, non-streamed,
 * per repetition, and what that costs in this run's CPU (wake-probe.ts): while a target's own core is the
 * bottleneck, wrk waits for its answers, so more of its writes must wake a sleeper, and the writer pays for each
 * wake-up in its own CPU time. The estimate against the floor is (its median − the floor's median) × (the probe's asleep − awake
 * cost); an explanation beside the CPU rows, which stay as measured. Null when the samples predate the counter.
 */
export function wakeupNote(wrk: readonly WrkSample[], targets: readonly { id: string; label: string }[], cost: WakeCost | null): string | null {
  const series = targets.map((t) => ({ ...t, values: c64Series(wrk, t.id, (s) => s.gateway?.loadCoreWakeups) })).filter((t) => t.values.length > 0);
  if (series.length === 0) return null;
  const parts = series.map((t) => `"${t.label}" ${t.values.map((v) => fixed(v, 2)).join(', ')} (median ${fixed(median(t.values), 2)})`);
  let note =
    'Load-core wake-ups per request at c=64, non-streamed, per repetition (interrupts the load core received: answers ' +
    `written while wrk or the fake upstream slept, so that the write had to wake it): ${parts.join('; ')}.`;
  if (cost === null) return note;
  const extraUs = cost.asleepUs - cost.awakeUs;
  note += ` A write that woke a reader asleep on the other core cost the writer ${fixed(cost.asleepUs, 1)} µs of CPU in this run, against ${fixed(cost.awakeUs, 1)} µs to a running reader (wake-probe.ts).`;
  const floor = series.find((t) => t.id === FLOOR_ID);
  const others = floor ? series.filter((t) => t !== floor) : [];
  if (floor && others.length > 0) {
    const floorMedian = median(floor.values);
    const estimates = others.map((t) => `"${t.label}" ${signed((median(t.values) - floorMedian) * extraUs)}`);
    note += ` While a target's own core is the bottleneck, wrk waits for its answers and more of them pay that; at the medians, the wake-ups beyond the floor's come to about ${estimates.join(', ')} µs of CPU per request.`;
  }
  return note;
}

/** A target's values at c=64, non-streamed, in repetition order; windows without the value (older results) are left out. */
function c64Series(wrk: readonly WrkSample[], target: string, value: (s: WrkSample) => number | undefined): number[] {
  return wrk
    .filter((s) => s.point === 'json-c64' && s.target === target)
    .sort((a, b) => a.rep - b.rep)
    .map(value)
    .filter((v): v is number => v !== undefined);
}

const ms = (us: number | null): string => (us === null || !Number.isFinite(us) ? '–' : (us / 1000).toFixed(us < 10_000 ? 3 : 1));
const int = (n: number | null): string => (n === null || !Number.isFinite(n) ? '–' : Math.round(n).toLocaleString('en-US'));
const fixed = (n: number, digits: number): string => (Number.isFinite(n) ? n.toFixed(digits) : '–');
const signed = (d: number): string => (Number.isFinite(d) ? `${d >= 0 ? '+' : '−'}${Math.abs(Math.round(d))}` : '–');

export interface ReportContext {
  date: string;
  commit: string;
  machine: string;
  method: string;
  labels: Record<string, string>;
  noise: NoiseSummary;
  topology: { sameCoreP50Us: number; crossCoreP50Us: number };
  /** Plain sentences for the report, e.g. why a peer is missing. */
  notes?: readonly string[];
}

export interface NoiseSummary {
  /** Median and maximum CPU that other processes took on the gateway core during measured windows (percent). */
  gatewayCoreMedianPct: number;
  gatewayCoreMaxPct: number;
  /** Windows that started without the machine being quiet (the bounded wait ran out). */
  notQuietWindows: number;
  windows: number;
}

export function noiseSummary(wrk: readonly WrkSample[], ttfc: readonly TtfcSample[]): NoiseSummary {
  const all = [...wrk, ...ttfc].map((s) => s.noise);
  const core = all.map((n) => n.foreignGatewayCorePct);
  return {
    gatewayCoreMedianPct: median(core),
    gatewayCoreMaxPct: Math.max(...core),
    notQuietWindows: all.filter((n) => n.foreignBeforePct >= 10).length,
    windows: all.length,
  };
}

export function markdown(points: readonly PointSummary[], checks: readonly Verdict[], ctx: ReportContext): string {
  const lines = [
    `Run ${ctx.date} on ${ctx.machine}, commit \`${ctx.commit}\`. ${ctx.method}`,
    '',
    '| load | via | req/s | ratio | p50 ms | p99 ms | added p50 ms | first chunk p50 ms | added first chunk ms | CPU µs/req | CPU × floor | RSS MB |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const p of points) {
    const load = `${p.stream ? 'streamed' : 'non-streamed'}, c=${p.connections}`;
    for (const t of p.targets) {
      if (t.errors > 0) {
        lines.push(`| ${load} | ${ctx.labels[t.id] ?? t.id} | failed: ${t.errors} errors | | | | | | | | | |`);
        continue;
      }
      lines.push(
        `| ${load} | ${ctx.labels[t.id] ?? t.id} | ${int(t.reqPerSec)} | ${t.throughputRatio === null ? '' : fixed(t.throughputRatio, 2)} | ` +
          `${ms(t.p50Us)} | ${ms(t.p99Us)} | ${t.addedP50Us === null ? '' : ms(t.addedP50Us)} | ${ms(t.ttfcP50Us)} | ` +
          `${t.addedTtfcP50Us === null ? '' : ms(t.addedTtfcP50Us)} | ${t.cpuUsPerRequest === null ? '' : fixed(t.cpuUsPerRequest, 0)} | ` +
          `${t.cpuVsFloor === null ? '' : fixed(t.cpuVsFloor, 2)} | ` +
          `${t.rssMaxKb === null ? '' : fixed(t.rssMaxKb / 1024, 0)} |`,
      );
    }
  }
  const n = ctx.noise;
  lines.push(
    '',
    `Machine noise: processes other than the benchmark's used a median ${fixed(n.gatewayCoreMedianPct, 1)}% ` +
      `(max ${fixed(n.gatewayCoreMaxPct, 0)}%) of the gateway's core during the ${n.windows} measured windows; ` +
      `${n.notQuietWindows} window(s) started before the machine was quiet.`,
  );
  const t = ctx.topology;
  lines.push(
    '',
    `Topology: the direct c=1 call has a p50 of ${ms(t.sameCoreP50Us)} ms with wrk beside the upstream and ` +
      `${ms(t.crossCoreP50Us)} ms with wrk on the other core. A proxied request crosses cores twice as often ` +
      `(client → gateway → upstream and back), so about ${ms(2 * (t.crossCoreP50Us - t.sameCoreP50Us))} ms of its ` +
      'added latency is the core layout, not the gateway.',
  );
  for (const note of ctx.notes ?? []) lines.push('', note);
  lines.push('', '| target | measured | goal | result |', '|---|--:|--:|---|');
  for (const c of checks) {
    const digits = c.unit === 'ms' ? 3 : c.unit === '×' ? 2 : 0;
    const measured = c.unit === 'req/s' ? int(c.measured) : fixed(c.measured, digits);
    const goal = `${c.kind === 'max' ? '≤' : '≥'} ${c.unit === 'req/s' ? int(c.limit) : c.limit} ${c.unit}`;
    const result = Number.isFinite(c.measured) ? (c.pass ? 'met' : '**missed**') : 'not measured';
    lines.push(`| ${c.name} | ${measured} ${c.unit} | ${goal} | ${result} |`);
  }
  return lines.join('\n');
}

const START = '<!-- bench:gateway:start -->';
const END = '<!-- bench:gateway:end -->';

/** Replaces the text between the markers, adding a "Gateway benchmark" section at the end when they are absent. */
export function updateReadme(file: string, table: string): void {
  const text = readFileSync(file, 'utf8');
  const block = `${START}\n${table}\n${END}`;
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  let next: string;
  if (start !== -1 && end > start) {
    next = text.slice(0, start) + block + text.slice(end + END.length);
  } else {
    const section =
      '## Gateway benchmark\n\n' +
      '`npm run bench:gateway` compares a client calling the fake upstream directly with the same client going through\n' +
      'keywarden, through a bare Node proxy (the floor: node:http + undici, only swapping the key) and through Portkey\n' +
      '(1 KB chat body; proxies pinned to core 1, fake upstream and load generators to core 0). Figures are medians of\n' +
      'the repetitions; targets are ratios to the floor measured in the same run; raw numbers are in\n' +
      '`bench/results/gateway.json`.\n\n';
    next = `${text.replace(/\s*$/, '')}\n\n${section}${block}\n`;
  }
  writeFileSync(file, next);
}
