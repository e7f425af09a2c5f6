import { setImmediate as nextTurn } from 'node:timers/promises';
import type { KeyPageQuery, KeyRepository, VirtualKeyRecord } from './types.js';

/** Keys per page when a whole store is walked: a few milliseconds of the event loop per page of full records. */
export const KEY_PAGE_SIZE = 500;

/**
 * Every key a page query selects, read page by page with a turn of the event loop between pages. Read in one call,
 * a store of 20,000 keys held the loop (and every request waiting on it) for about 400 ms; the monitor walks the
 * store this way every minute.
 */
export async function* keyPages(
  keys: KeyRepository,
  query: Omit<KeyPageQuery, 'after' | 'limit'> = {},
  limit = KEY_PAGE_SIZE,
): AsyncGenerator<VirtualKeyRecord[]> {
  let after: KeyPageQuery['after'];
  for (;;) {
    const page = await keys.listPage({ ...query, limit, ...(after ? { after } : {}) });
    if (page.length > 0) yield page;
    const last = page.at(-1);
    if (page.length < limit || last === undefined) return;
    after = { createdAt: last.createdAt, id: last.id };
    await nextTurn();
  }
}

/** Every key a page query selects, in (createdAt, id) order, read as keyPages reads them. */
export async function allKeys(keys: KeyRepository, query: Omit<KeyPageQuery, 'after' | 'limit'> = {}): Promise<VirtualKeyRecord[]> {
  const all: VirtualKeyRecord[] = [];
  for await (const page of keyPages(keys, query)) all.push(...page);
  return all;
}
