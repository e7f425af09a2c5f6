import type { RollupRepository } from '../../src/monitor/repositories.js';
import { UsageIntake } from '../../src/monitor/usage-intake.js';
import type { UsageRecord, UsageRepository } from '../../src/store/index.js';

/**
 * Inserts records in batches and, unless `rollups` is false, folds them into the rollups as the monitor's intake
 * and evaluation do (drained every 20,000 records). `rollups: false` leaves them as the not-yet-rolled tail.
 */
export async function recordUsage(
  usage: UsageRepository,
  rollups: RollupRepository,
  records: readonly UsageRecord[],
  options: { rollups?: boolean } = {},
): Promise<void> {
  for (let i = 0; i < records.length; i += 5_000) await usage.insertMany(records.slice(i, i + 5_000));
  if (options.rollups === false) return;
  const intake = new UsageIntake();
  for (let i = 0; i < records.length; i++) {
    intake.add(records[i] as UsageRecord);
    if (i % 20_000 === 19_999 || i === records.length - 1) await rollups.apply(intake.drain().deltas);
  }
}
