import type { Schema } from 'hono';
import { z } from 'zod';
import type { KeyPageQuery, VirtualKeyRecord } from '../../store/index.js';
import { keyActivity } from '../key-activity.js';
import { keyView } from '../key-view.js';
import { tokenProject } from '../project-scope.js';
import type { AggregateSources } from '../stats/usage-aggregate.js';
import { decodeCursor, encodeCursor } from './keyset-cursor.js';
import { limitField } from './query-fields.js';
import { parseQuery, type AdminApp } from './route-helpers.js';

export const KEYS_DEFAULT_LIMIT = 100;
export const KEYS_MAX_LIMIT = 200;

export interface KeyListRouteDeps {
  /** One page of keys from the store, in (createdAt, id) order. */
  listPage: (page: KeyPageQuery) => Promise<VirtualKeyRecord[]>;
  /** Where usage is read from at `now`: rollups, their coverage, and the raw records. */
  sources: (now: number) => AggregateSources;
  now: () => number;
}

const query = z
  .object({
    limit: limitField(KEYS_MAX_LIMIT, KEYS_DEFAULT_LIMIT),
    after: z.string().min(1).max(200).optional(),
  })
  .strict();

/**
 * GET /keys: one page of keys in creation order (`limit`, default 100, at most 200) with each key's spend today,
 * this month and last use. `next_cursor` (with `has_more`) is passed back as `after`; keyset paging stays correct
 * while keys are created. A project-limited token sees only its project's keys, and pages through those.
 */
export function registerKeyListRoute<S extends Schema, B extends string>(app: AdminApp<S, B>, deps: KeyListRouteDeps): void {
  app.get('/keys', async (c) => {
    const q = parseQuery(c, query);
    const after = q.after === undefined ? undefined : decodeCursor(q.after);
    const now = deps.now();
    const scope = tokenProject(c);
    // One row more than the page tells whether another page exists, without counting.
    const rows = await deps.listPage({
      limit: q.limit + 1,
      ...(after === undefined ? {} : { after: { createdAt: after.ts, id: after.id } }),
      ...(scope === null ? {} : { projectId: scope }),
    });
    const hasMore = rows.length > q.limit;
    const page = hasMore ? rows.slice(0, q.limit) : rows;
    const activity = await keyActivity(deps.sources(now), page.map((k) => k.id), now);
    const last = page.at(-1);
    return c.json({
      object: 'list',
      data: page.map((k) => ({ ...keyView(k, now), ...activity(k.id) })),
      has_more: hasMore,
      next_cursor: hasMore && last ? encodeCursor(last.createdAt, last.id) : null,
    });
  });
}
