import type { Store } from '../store/index.js';

/** Names to show beside ids in usage and alerts; unknown (deleted) ids give null. */
export interface NameLookup {
  key(id: string | null | undefined): string | null;
  upstream(id: string | null | undefined): string | null;
}

/** Two list queries per admin request, however many rows the answer has. */
export async function loadNames(store: Store): Promise<NameLookup> {
  const keys = new Map((await store.keys.list()).map((k) => [k.id, k.name]));
  const upstreams = new Map((await store.upstreams.list()).map((u) => [u.id, u.name]));
  return {
    key: (id) => (id ? (keys.get(id) ?? null) : null),
    upstream: (id) => (id ? (upstreams.get(id) ?? null) : null),
  };
}
