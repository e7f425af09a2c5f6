import type { Granularity } from '../../monitor/repositories.js';
import { DAY, HOUR, MINUTE, type TimeWindow } from './time-windows.js';

/** Where a piece of a time range is read from: a rollup granularity, or the raw usage records. */
export type RangeSource = Granularity | 'raw';

export interface RangeSegment extends TimeWindow {
  source: RangeSource;
}

/** What the rollups can answer right now. */
export interface RollupCoverage {
  /** Every usage record before this instant is in the rollups (the monitor has folded it in); null: none are. */
  completeBefore: number | null;
  /** Oldest bucket start still kept, per granularity (monitor.retention); day buckets are never pruned. */
  minuteSince: number;
  hourSince: number;
}

const LEVELS: ReadonlyArray<{ source: Granularity; size: number }> = [
  { source: 'day', size: DAY },
  { source: 'hour', size: HOUR },
  { source: 'minute', size: MINUTE },
];

function keptSince(source: Granularity, coverage: RollupCoverage): number {
  if (source === 'minute') return coverage.minuteSince;
  if (source === 'hour') return coverage.hourSince;
  return Number.NEGATIVE_INFINITY;
}

/** Whole buckets of the coarsest granularity first, then the ragged edges with finer ones, then raw records. */
function split(since: number, until: number, level: number, coverage: RollupCoverage, out: RangeSegment[]): void {
  if (since >= until) return;
  const step = LEVELS[level];
  if (!step) {
    out.push({ source: 'raw', since, until });
    return;
  }
  const kept = keptSince(step.source, coverage);
  const first = Math.ceil(Math.max(since, kept) / step.size) * step.size;
  const last = Math.floor(until / step.size) * step.size;
  if (first >= last) {
    split(since, until, level + 1, coverage, out);
    return;
  }
  split(since, first, level + 1, coverage, out);
  out.push({ source: step.source, since: first, until: last });
  split(last, until, level + 1, coverage, out);
}

/**
 * How to read the usage of [since, until) with the fewest rows: whole day buckets where the range covers UTC days,
 * hour and minute buckets at the edges (while retention keeps them), and raw records only for what the rollups
 * cannot answer: sub-minute edges and the recent tail the monitor has not folded in yet. Segments are in time
 * order, do not overlap and cover the range exactly, so summing them gives the same answer as summing raw records.
 */
export function planRange(window: TimeWindow, coverage: RollupCoverage): RangeSegment[] {
  const out: RangeSegment[] = [];
  const rolledUntil = coverage.completeBefore === null ? window.since : Math.min(window.until, Math.max(window.since, coverage.completeBefore));
  split(window.since, rolledUntil, 0, coverage, out);
  if (rolledUntil < window.until) out.push({ source: 'raw', since: rolledUntil, until: window.until });
  return out;
}
