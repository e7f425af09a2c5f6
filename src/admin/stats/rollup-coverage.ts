import type { RollupCoverage } from './range-plan.js';

export interface CoverageConfig {
  /** False when the monitor does not run: then nothing is rolled up and every read is raw. */
  enabled: boolean;
  evaluationIntervalMs: number;
  retention: { minuteMs: number; hourMs: number };
}

/**
 * Slack for records that reach the store after their timestamp (the usage recorder flushes in batches, and a
 * request's record is written when it ends).
 */
const FLUSH_SLACK_MS = 30_000;

/**
 * What the monitor's rollups hold at `now`. The monitor folds usage in once per evaluation interval, so records
 * older than two intervals (plus slack) are in the rollups; newer ones are read raw. Retention pruning removes
 * buckets older than each granularity's retention, so a margin of one bucket keeps planned reads inside what is kept.
 */
export function rollupCoverage(config: CoverageConfig): (now: number) => RollupCoverage {
  return (now) => ({
    completeBefore: config.enabled ? now - 2 * config.evaluationIntervalMs - FLUSH_SLACK_MS : null,
    minuteSince: now - config.retention.minuteMs + 60_000,
    hourSince: now - config.retention.hourMs + 3_600_000,
  });
}
