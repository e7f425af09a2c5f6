import { KeywardenError } from '../errors/index.js';
import type { RollupCounters, RollupDim } from '../monitor/repositories.js';
import type { Store, VirtualKeyRecord } from '../store/index.js';
import type { AggregateSources } from './stats/usage-aggregate.js';
import { aggregateUsage } from './stats/usage-aggregate.js';
import { DAY, HOUR, type TimeWindow } from './stats/time-windows.js';
import type { ProjectUsageRow } from './usage-by-project.js';

/** Every dimension `GET /usage?group_by=` takes. */
export const EXPLORER_GROUPS = ['key', 'model', 'upstream', 'day', 'hour', 'project'] as const;
export type ExplorerGroup = (typeof EXPLORER_GROUPS)[number];

export type ExplorerRow = ProjectUsageRow & { upstreamId?: string | null; hour?: number };

/** Longest range `group_by=hour` answers (744 hourly rows per value); the default range is the last 7 days. */
export const MAX_HOUR_RANGE_MS = 31 * DAY;
const DEFAULT_HOUR_RANGE_MS = 7 * DAY;

/**
 * The rollup dimension a grouping reads, or null when the rollups cannot answer it (two entity dimensions such
 * as key and model: the rollups keep each dimension on its own). `project` is folded from `key`.
 */
export function rollupDimFor(groups: readonly ExplorerGroup[]): RollupDim | null {
  const entity = new Set<RollupDim>();
  for (const g of groups) {
    if (g === 'key' || g === 'project') entity.add('key');
    else if (g === 'model' || g === 'upstream') entity.add(g);
  }
  if (entity.size > 1) return null;
  return [...entity][0] ?? 'all';
}

/** A grouping the old raw path answers (key, model, day, project only); the new dimensions need the rollup path. */
export function needsRollupPath(groups: readonly ExplorerGroup[]): boolean {
  return groups.includes('upstream') || groups.includes('hour');
}

/** Refuses combinations no path answers, with the reason. */
export function assertExplorable(groups: readonly ExplorerGroup[]): void {
  if (needsRollupPath(groups) && rollupDimFor(groups) === null) {
    throw new KeywardenError('KW_VALIDATION', {
      message: 'group_by: upstream and hour combine with at most one of key, model, upstream (project counts as key)',
      param: 'group_by',
    });
  }
  if (groups.includes('day') && groups.includes('hour')) {
    throw new KeywardenError('KW_VALIDATION', { message: 'group_by: day and hour together (an hour already names its day)', param: 'group_by' });
  }
}

function timeWindows(since: number, until: number, step: number): TimeWindow[] {
  const out: TimeWindow[] = [];
  for (let t = Math.floor(since / step) * step; t < until; t += step) out.push({ since: Math.max(t, since), until: Math.min(t + step, until) });
  return out;
}

const NONE = '(none)';

export interface ExploreQuery {
  since?: number;
  until?: number;
  keyId?: string;
}

/**
 * Usage grouped by at most one entity dimension and a time dimension, from the rollups (raw records only for
 * what they cannot answer; see planRange). Days and hours are UTC, as in the raw path. Rows where nothing
 * happened are left out, as the raw path's GROUP BY leaves them out.
 */
export async function exploreUsage(
  store: Store,
  sources: AggregateSources,
  query: ExploreQuery,
  groups: readonly ExplorerGroup[],
  now: number,
  onlyProject: string | null,
): Promise<ExplorerRow[]> {
  const dim = (query.keyId !== undefined || onlyProject !== null) && rollupDimFor(groups) === 'all' ? 'key' : rollupDimFor(groups);
  if (dim === null) throw new KeywardenError('KW_VALIDATION', { message: 'group_by: this combination is not available', param: 'group_by' });
  const until = query.until ?? now + 1;
  const byHour = groups.includes('hour');
  let since = query.since;
  if (since === undefined) since = byHour ? until - DEFAULT_HOUR_RANGE_MS : ((await store.usage.list({ limit: 1 }))[0]?.ts ?? until);
  if (byHour && until - since > MAX_HOUR_RANGE_MS) {
    throw new KeywardenError('KW_VALIDATION', { message: 'group_by=hour: the range (since..until) is at most 31 days', param: 'since' });
  }
  const step = byHour ? HOUR : groups.includes('day') ? DAY : 0;
  const windows = since >= until ? [] : step === 0 ? [{ since, until }] : timeWindows(since, until, step);
  // A key filter reads the key dimension for one value only; a project's keys are kept after reading.
  const [totals, keys] = await Promise.all([
    windows.length === 0 ? Promise.resolve([]) : aggregateUsage(sources, windows, dim === 'key' && query.keyId !== undefined ? { dim, dimValue: query.keyId } : { dim }),
    groups.includes('project') || onlyProject !== null ? store.keys.list() : Promise.resolve([] as VirtualKeyRecord[]),
  ]);
  const projectOf = new Map(keys.map((k) => [k.id, k.projectId ?? null]));
  const rows = new Map<string, ExplorerRow>();
  totals.forEach((values, i) => {
    const start = Math.floor((windows[i] as TimeWindow).since / (step || 1)) * (step || 1);
    for (const [value, counters] of values) {
      if (onlyProject !== null && projectOf.get(value) !== onlyProject) continue;
      const row = rowFor(groups, value, start, projectOf);
      const id = JSON.stringify([row.projectId, row.keyId, row.model, row.upstreamId, row.day, row.hour]);
      const sum = rows.get(id) ?? row;
      addInto(sum, counters);
      rows.set(id, sum);
    }
  });
  return [...rows.values()].sort(compareRows);
}

function rowFor(groups: readonly ExplorerGroup[], value: string, start: number, projectOf: ReadonlyMap<string, string | null>): ExplorerRow {
  const row: ExplorerRow = { requests: 0, errors: 0, promptTokens: 0, cachedTokens: 0, completionTokens: 0, reasoningTokens: 0, costUsd: 0, unpricedRequests: 0 };
  if (groups.includes('project')) row.projectId = projectOf.get(value) ?? null;
  if (groups.includes('key')) row.keyId = value;
  if (groups.includes('model')) row.model = value === NONE ? null : value;
  if (groups.includes('upstream')) row.upstreamId = value === NONE ? null : value;
  if (groups.includes('day')) row.day = new Date(start).toISOString().slice(0, 10);
  if (groups.includes('hour')) row.hour = start;
  return row;
}

function addInto(row: ExplorerRow, c: RollupCounters): void {
  row.requests += c.requests;
  row.errors += c.errors;
  row.promptTokens += c.promptTokens;
  row.cachedTokens += c.cachedTokens;
  row.completionTokens += c.completionTokens;
  row.reasoningTokens += c.reasoningTokens;
  row.costUsd += c.costUsd;
  row.unpricedRequests += c.unpriced;
}

const ORDER: ReadonlyArray<keyof ExplorerRow> = ['projectId', 'keyId', 'model', 'upstreamId', 'day', 'hour'];

/** The raw path's order: by each grouped dimension, nulls first. */
export function compareRows(a: ExplorerRow, b: ExplorerRow): number {
  for (const field of ORDER) {
    const x = a[field] ?? null;
    const y = b[field] ?? null;
    if (x === y) continue;
    if (x === null) return -1;
    if (y === null) return 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

/**
 * Which path answers `GET /usage`: the rollups (through exploreUsage) when the grouping and filters allow, else the
 * raw summary (`summarize`, the original path, kept for key × model groupings). The new dimensions (upstream,
 * hour) exist only on the rollup path; combinations it cannot answer are refused.
 */
export async function usageRows(
  store: Store,
  sources: AggregateSources,
  query: ExploreQuery,
  groups: readonly ExplorerGroup[],
  now: number,
  onlyProject: string | null,
  summarize: () => Promise<ExplorerRow[]>,
): Promise<ExplorerRow[]> {
  assertExplorable(groups);
  const dim = rollupDimFor(groups);
  const filtered = query.keyId !== undefined || onlyProject !== null;
  const answerable = dim !== null && (!filtered || dim === 'all' || dim === 'key');
  if (answerable && (sources.coverage.completeBefore !== null || needsRollupPath(groups))) {
    return exploreUsage(store, sources, query, groups, now, onlyProject);
  }
  if (needsRollupPath(groups)) {
    throw new KeywardenError('KW_VALIDATION', { message: 'group_by: upstream and hour cannot be combined with model under a key or project filter', param: 'group_by' });
  }
  return summarize();
}
