import type { SpikeConfig } from '../config.js';
import type { RollupRepository, RollupRow } from '../repositories.js';
import type { Finding } from '../types.js';
import type { WindowCounts } from '../usage-intake.js';
import { formatUsd } from '../../util/money.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export type SpikeMetric = 'requests' | 'cost';

interface KeyBaseline {
  firstActivity: number | null;
  requests: number;
  cost: number;
}

/**
 * A key's normal peak per-minute rate for this time of day: for the same hour on each previous day (and the hours
 * either side, since daily rhythms drift), an EWMA across days of that hour's busiest minute; the largest of the
 * three. Comparing like hour with like hour is what keeps the nightly lull → morning peak from looking like a
 * spike, and learning from peak minutes (not hourly averages) keeps bursty but normal clients quiet.
 * Days before the key's first activity are skipped rather than counted as zero.
 */
export function sameHourBaseline(
  rows: readonly RollupRow[],
  hourStart: number,
  firstActivity: number,
  config: Pick<SpikeConfig, 'lookbackDays' | 'alpha'>,
  metric: SpikeMetric,
): number {
  const byStart = new Map(rows.map((row) => [row.bucketStart, metric === 'requests' ? row.peakMinuteRequests : row.peakMinuteCost]));
  let best = 0;
  for (const offset of [-1, 0, 1]) {
    let ewma: number | null = null;
    for (let day = config.lookbackDays; day >= 1; day--) {
      const start = hourStart - day * DAY + offset * HOUR;
      if (start + HOUR <= firstActivity) continue;
      const value = byStart.get(start) ?? 0;
      ewma = ewma === null ? value : config.alpha * value + (1 - config.alpha) * ewma;
    }
    best = Math.max(best, ewma ?? 0);
  }
  return best;
}

/** Baselines per key, computed from hour rollups at most once per key per hour. */
export class SpikeBaselines {
  private cache = new Map<string, KeyBaseline>();
  private cacheHour = 0;

  constructor(
    private readonly rollups: RollupRepository,
    private readonly config: Pick<SpikeConfig, 'lookbackDays' | 'alpha'>,
  ) {}

  async get(keyId: string, now: number): Promise<KeyBaseline> {
    const hourStart = now - (now % HOUR);
    if (hourStart !== this.cacheHour) {
      this.cache = new Map();
      this.cacheHour = hourStart;
    }
    const cached = this.cache.get(keyId);
    if (cached) return cached;
    const firstActivity = await this.rollups.firstActivity('key', keyId);
    const rows = await this.rollups.series({
      granularity: 'hour',
      dim: 'key',
      dimValue: keyId,
      since: hourStart - this.config.lookbackDays * DAY - HOUR,
      until: hourStart - DAY + 2 * HOUR,
    });
    const baseline: KeyBaseline = {
      firstActivity,
      requests: firstActivity === null ? 0 : sameHourBaseline(rows, hourStart, firstActivity, this.config, 'requests'),
      cost: firstActivity === null ? 0 : sameHourBaseline(rows, hourStart, firstActivity, this.config, 'cost'),
    };
    this.cache.set(keyId, baseline);
    return baseline;
  }
}

const describeAmount = (metric: SpikeMetric, value: number): string =>
  metric === 'requests' ? `${Math.round(value)} requests/min` : `${formatUsd(value)}/min`;

/**
 * Spike findings for one metric. Cheap checks first: a key can only fire if its window amount reaches the
 * minimum and its rate beats multiplier × floor, so baselines are fetched only for keys that are already busy.
 */
export async function spikeFindings(
  window: ReadonlyMap<string, WindowCounts>,
  windowMinutes: number,
  now: number,
  metric: SpikeMetric,
  config: SpikeConfig,
  baselines: SpikeBaselines,
): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const [keyId, counts] of window) {
    const amount = metric === 'requests' ? counts.requests : counts.costUsd;
    const rate = amount / windowMinutes;
    if (amount < config.minWindowAmount || rate <= config.multiplier * config.floorPerMinute) continue;
    const baseline = await baselines.get(keyId, now);
    if (baseline.firstActivity === null || now - baseline.firstActivity < config.minHistoryMs) continue;
    const normal = metric === 'requests' ? baseline.requests : baseline.cost;
    const threshold = config.multiplier * Math.max(normal, config.floorPerMinute);
    if (rate <= threshold) continue;
    const ratio = normal > 0 ? Math.round(rate / normal) : null;
    const label = metric === 'requests' ? 'Request volume' : 'Spend';
    findings.push({
      detector: metric === 'requests' ? 'volume_spike' : 'spend_spike',
      severity: 'critical',
      subject: keyId,
      keyId,
      title: `${label} spike on key ${keyId}`,
      message:
        `Key ${keyId} is running at ${describeAmount(metric, rate)}, against a usual peak of ${describeAmount(metric, normal)} ` +
        `at this time of day${ratio === null ? '' : ` (${ratio}×)`}. A sudden spike is how stolen keys usually show.`,
      details: {
        metric,
        rate_per_minute: Number(rate.toFixed(4)),
        baseline_per_minute: Number(normal.toFixed(4)),
        threshold_per_minute: Number(threshold.toFixed(4)),
        window_minutes: Number(windowMinutes.toFixed(2)),
      },
    });
  }
  return findings;
}
