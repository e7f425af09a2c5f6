import { api } from './api';
import type { List, VirtualKey } from './types';

/** A bound on the walk, so a server that never ends its pages cannot hold the page forever: 200,000 keys. */
const MAX_PAGES = 1000;

/** Every key, following the admin API's cursor 200 keys at a time (GET /keys serves one bounded page per call). */
export async function allKeys(): Promise<List<VirtualKey>> {
  const data: VirtualKey[] = [];
  let after: string | null = null;
  for (let pages = 0; pages < MAX_PAGES; pages++) {
    const page: List<VirtualKey> & { has_more?: boolean; next_cursor?: string | null } = await api(
      after === null ? '/keys?limit=200' : `/keys?limit=200&after=${encodeURIComponent(after)}`,
    );
    data.push(...page.data);
    if (page.has_more !== true || typeof page.next_cursor !== 'string') break;
    after = page.next_cursor;
  }
  return { object: 'list', data };
}
