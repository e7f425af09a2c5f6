import type { Context, Schema } from 'hono';
import { KeywardenError } from '../../errors/index.js';
import { z } from 'zod';
import type { KeyService } from '../key-service.js';
import { tokenProject } from '../project-scope.js';
import { keyStats } from '../stats/key-stats-service.js';
import { overview } from '../stats/overview-service.js';
import type { StatsDeps } from '../stats/stats-context.js';
import { isKnownTimeZone } from '../stats/time-windows.js';
import { parseQuery, pathParam, type AdminApp } from './route-helpers.js';

export interface StatsRouteDeps extends StatsDeps {
  keys: KeyService;
  now: () => number;
}

/** Days of history a key page may ask for: the day rollups go back further, but the chart and the reads stay bounded. */
export const MAX_STATS_DAYS = 90;

const tzField = z
  .string()
  .max(64)
  .refine(isKnownTimeZone, { message: 'unknown IANA time zone' })
  .default('UTC');

const overviewQuery = z.object({ tz: tzField }).strict();
const keyStatsQuery = z
  .object({
    tz: tzField,
    days: z.coerce.number().int().min(1).max(MAX_STATS_DAYS).default(30),
  })
  .strict();

/** `?days=30&days=31` is ambiguous: refused rather than silently taking the first. */
function assertNoRepeats(c: Context): void {
  for (const [name, values] of Object.entries(c.req.queries())) {
    if (values.length > 1) throw new KeywardenError('KW_VALIDATION', { message: `${name}: given more than once`, param: name });
  }
}

/**
 * Read-only statistics for the console: GET /stats/overview and GET /keys/:id/stats. Viewers may read them; a
 * project-limited token sees only its project's keys (another project's key is a 404, as on /keys/:id).
 */
export function registerStatsRoutes<S extends Schema, B extends string>(app: AdminApp<S, B>, deps: StatsRouteDeps): void {
  app.get('/stats/overview', async (c) => {
    assertNoRepeats(c);
    const q = parseQuery(c, overviewQuery);
    return c.json(await overview(deps, deps.now(), q.tz, tokenProject(c)));
  });
  app.get('/keys/:id/stats', async (c) => {
    assertNoRepeats(c);
    const q = parseQuery(c, keyStatsQuery);
    const key = await deps.keys.getInProject(pathParam(c, 'id'), tokenProject(c));
    return c.json(await keyStats(deps, key, deps.now(), q.days, q.tz));
  });
}
