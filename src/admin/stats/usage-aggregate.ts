import { addCounters, emptyCounters } from '../../monitor/counters.js';
import type { RollupCounters, RollupDim, RollupRepository } from '../../monitor/repositories.js';
import type { UsageRepository } from '../../store/index.js';
import { planRange, type RangeSegment, type RollupCoverage } from './range-plan.js';
import type { TimeWindow } from './time-windows.js';

export interface AggregateSources {
  rollups: RollupRepository;
  usage: UsageRepository;
  coverage: RollupCoverage;
}

export interface AggregateQuery {
  dim: RollupDim;
  /** Only this value of the dimension (one key's usage). */
  dimValue?: string;
  /** Only these values (a page of keys): rollups are read by primary key, raw rows outside the list dropped. */
  dimValues?: readonly string[];
}

/** Per window (same order as asked), the counters per dimension value. */
export type WindowTotals = Array<Map<string, RollupCounters>>;

function add(into: Map<string, RollupCounters>, dimValue: string, counters: RollupCounters): void {
  let sum = into.get(dimValue);
  if (!sum) {
    sum = emptyCounters();
    into.set(dimValue, sum);
  }
  addCounters(sum, counters);
}

/** Index of the window holding `at` (windows sorted, disjoint), or -1. */
function windowOf(windows: readonly TimeWindow[], at: number): number {
  let lo = 0;
  let hi = windows.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const w = windows[mid] as TimeWindow;
    if (at < w.since) hi = mid - 1;
    else if (at >= w.until) lo = mid + 1;
    else return mid;
  }
  return -1;
}

/** Adjacent segments of one source joined, so one statement reads each contiguous run. */
function runs(segments: readonly RangeSegment[]): RangeSegment[] {
  const sorted = [...segments].sort((a, b) => a.since - b.since);
  const out: RangeSegment[] = [];
  for (const s of sorted) {
    const last = out.at(-1);
    if (last && last.until === s.since) last.until = s.until;
    else out.push({ ...s });
  }
  return out;
}

/**
 * Usage per window and dimension value, read from the rollups wherever they can answer (see planRange) and from
 * raw records only for the rest. One window: each run is summed in SQL (`totals`); several windows: buckets are
 * read (`series`) and dealt to the window they start in. A bucket never straddles two windows, because each
 * window is planned on its own and only buckets inside it are planned.
 */
export async function aggregateUsage(sources: AggregateSources, windowsIn: readonly TimeWindow[], query: AggregateQuery): Promise<WindowTotals> {
  const windows = [...windowsIn].sort((a, b) => a.since - b.since);
  for (let i = 1; i < windows.length; i++) {
    if ((windows[i] as TimeWindow).since < (windows[i - 1] as TimeWindow).until) throw new RangeError('aggregateUsage: windows overlap');
  }
  const out: WindowTotals = windowsIn.map(() => new Map<string, RollupCounters>());
  // Results are keyed by the caller's order.
  const slot = windows.map((w) => windowsIn.indexOf(w));
  const byGranularity = new Map<RangeSegment['source'], RangeSegment[]>();
  const raw: Array<{ segment: RangeSegment; window: number }> = [];
  windows.forEach((w, i) => {
    for (const segment of planRange(w, sources.coverage)) {
      if (segment.source === 'raw') raw.push({ segment, window: i });
      else byGranularity.set(segment.source, [...(byGranularity.get(segment.source) ?? []), segment]);
    }
  });
  const reads: Array<Promise<void>> = [];
  for (const [granularity, segments] of byGranularity) {
    if (granularity === 'raw') continue;
    for (const run of runs(segments)) {
      // The `all` dimension has the one value "*": naming it lets the read use the whole primary key.
      const dimValue = query.dim === 'all' ? '*' : query.dimValue;
      const rollupQuery = { granularity, dim: query.dim, dimValue, ...(query.dimValues ? { dimValues: query.dimValues } : {}), since: run.since, until: run.until };
      if (windows.length === 1) {
        reads.push(sources.rollups.totals(rollupQuery).then((rows) => rows.forEach((row) => add(out[slot[0] ?? 0] as Map<string, RollupCounters>, row.dimValue, row))));
      } else {
        reads.push(
          sources.rollups.series(rollupQuery).then((rows) => {
            for (const row of rows) {
              const i = windowOf(windows, row.bucketStart);
              if (i >= 0) add(out[slot[i] ?? 0] as Map<string, RollupCounters>, row.dimValue, row);
            }
          }),
        );
      }
    }
  }
  const wanted = query.dimValues ? new Set(query.dimValues) : null;
  for (const { segment, window } of raw) {
    reads.push(
      sources.usage
        .totalsBy({ dim: query.dim, since: segment.since, until: segment.until, ...(query.dim === 'key' && query.dimValue !== undefined ? { keyId: query.dimValue } : {}) })
        .then((rows) => {
          for (const row of rows) {
            if ((query.dimValue === undefined || row.dimValue === query.dimValue) && (wanted === null || wanted.has(row.dimValue))) add(out[slot[window] ?? 0] as Map<string, RollupCounters>, row.dimValue, row);
          }
        }),
    );
  }
  await Promise.all(reads);
  return out;
}

/** All dimension values of one window summed (optionally only the values `keep` accepts). */
export function sumValues(totals: ReadonlyMap<string, RollupCounters> | undefined, keep?: (dimValue: string) => boolean): RollupCounters {
  const sum = emptyCounters();
  if (!totals) return sum;
  for (const [value, counters] of totals) if (!keep || keep(value)) addCounters(sum, counters);
  return sum;
}
