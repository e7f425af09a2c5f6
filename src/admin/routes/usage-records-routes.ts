import type { Schema } from 'hono';
import { z } from 'zod';
import type { UsageRepository } from '../../store/index.js';
import type { NameLookup } from '../name-lookup.js';
import { decodeCursor, encodeCursor } from './keyset-cursor.js';
import { limitField, timeField } from './query-fields.js';
import { parseQuery, type AdminApp } from './route-helpers.js';

export interface UsageRecordRouteDeps {
  usage: UsageRepository;
  /** Key and upstream names shown beside their ids. */
  names: () => Promise<NameLookup>;
  /** `key_id` accepts a key's id or its name. */
  resolveKeyId: (ref: string) => Promise<string>;
}

export const USAGE_RECORDS_DEFAULT_LIMIT = 100;
export const USAGE_RECORDS_MAX_LIMIT = 1000;

const query = z
  .object({
    since: timeField,
    until: timeField,
    key_id: z.string().min(1).max(200).optional(),
    limit: limitField(USAGE_RECORDS_MAX_LIMIT, USAGE_RECORDS_DEFAULT_LIMIT),
    after: z.string().min(1).max(200).optional(),
  })
  .strict();

/**
 * GET /usage/records: raw usage records, oldest first, one bounded page at a time (`limit`, default 100, at most
 * 1000), so a call never walks the whole table on the event loop. `next_cursor` (with `has_more`) is passed back as
 * `after` for the next page; keyset pagination stays correct while new records arrive.
 */
export function registerUsageRecordRoutes<S extends Schema, B extends string>(app: AdminApp<S, B>, deps: UsageRecordRouteDeps): void {
  app.get('/usage/records', async (c) => {
    const q = parseQuery(c, query);
    const after = q.after === undefined ? undefined : decodeCursor(q.after);
    // One extra row tells whether another page exists without a COUNT over the table.
    const keyId = q.key_id === undefined ? undefined : await deps.resolveKeyId(q.key_id);
    const [rows, names] = await Promise.all([deps.usage.list({ since: q.since, until: q.until, keyId, limit: q.limit + 1, after }), deps.names()]);
    const hasMore = rows.length > q.limit;
    const page = hasMore ? rows.slice(0, q.limit) : rows;
    const last = page[page.length - 1];
    const data = page.map((r) => ({ ...r, keyName: names.key(r.keyId), upstreamName: names.upstream(r.upstreamId) }));
    return c.json({ object: 'list', data, has_more: hasMore, next_cursor: hasMore && last ? encodeCursor(last.ts, last.id) : null });
  });
}
