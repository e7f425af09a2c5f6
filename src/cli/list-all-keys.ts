import type { AdminClient } from './admin-client.js';

/** GET /keys serves at most this many keys a page. */
const PAGE = 200;
/** A bound on the walk (a server that never ends its pages cannot hold the CLI forever): 2,000,000 keys. */
const MAX_PAGES = 10_000;

/** Every key, following `next_cursor` a page of 200 at a time, in the server's order. */
export async function listAllKeys<K>(api: Pick<AdminClient, 'request'>): Promise<K[]> {
  const keys: K[] = [];
  let after: string | null = null;
  for (let pages = 0; pages < MAX_PAGES; pages++) {
    const query: string = after === null ? `?limit=${PAGE}` : `?limit=${PAGE}&after=${encodeURIComponent(after)}`;
    const page: { data: K[]; has_more?: boolean; next_cursor?: string | null } = await api.request('GET', `/keys${query}`);
    keys.push(...page.data);
    if (page.has_more !== true || typeof page.next_cursor !== 'string') return keys;
    after = page.next_cursor;
  }
  return keys;
}
