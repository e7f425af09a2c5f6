import type { Schema } from 'hono';
import { z } from 'zod';
import type { RollupRepository } from '../../monitor/repositories.js';
import { usageReport, usageReportCsv } from '../../monitor/usage-report.js';
import { timeField } from './query-fields.js';
import { parseQuery, type AdminApp } from './route-helpers.js';

export interface UsageRollupRouteDeps {
  rollups: RollupRepository;
  now: () => number;
  /** monitor.retention.hourMs: beyond it, totals come from day buckets. */
  hourRetentionMs: number;
}

const query = z
  .object({
    group_by: z.enum(['key', 'model', 'upstream', 'day', 'hour', 'minute']).default('day'),
    since: timeField,
    until: timeField,
    key_id: z.string().min(1).optional(),
    format: z.enum(['json', 'csv']).default('json'),
  })
  .strict();

/** GET /usage/rollups: usage grouped by key, model, upstream or time, as JSON or CSV (`format=csv`). */
export function registerUsageRollupRoutes<S extends Schema, B extends string>(app: AdminApp<S, B>, deps: UsageRollupRouteDeps): void {
  app.get('/usage/rollups', async (c) => {
    const q = parseQuery(c, query);
    const report = await usageReport(
      deps.rollups,
      { groupBy: q.group_by, since: q.since, until: q.until, keyId: q.key_id },
      { now: deps.now(), hourRetentionMs: deps.hourRetentionMs },
    );
    if (q.format === 'csv') {
      return c.body(usageReportCsv(report), 200, {
        'content-type': 'text/csv; charset=utf-8',
        'content-disposition': `attachment; filename="keywarden-usage-by-${report.group_by}.csv"`,
      });
    }
    return c.json({ object: 'usage_report', group_by: report.group_by, granularity: report.granularity, data: report.rows });
  });
}
