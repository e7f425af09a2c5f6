import { isJsonObject } from '../util/json-object.js';

/**
 * Filters an upstream list page (`{object: 'list', data, first_id, last_id, has_more}`) down to the objects a key
 * may see. Filtering (rather than refusing) is sound because OpenAI's lists are cursor-paginated by object id:
 * the SDK asks for the next page with `after=<last id it received>`, which is always one of the key's own objects,
 * so the next page resumes right after it and no own object is skipped. `first_id` / `last_id` are recomputed from
 * what is returned; `has_more` is the upstream's, or true when own items beyond the client's `limit` were cut
 * (the gateway asks the upstream for fuller pages, see object-ownership.ts). Known limit: when a whole upstream
 * page belongs to other keys the answer is empty with `has_more: true`, where an SDK stops paginating.
 * A body that is not a list is replaced by an empty list: an unfilterable answer must not pass through.
 */
export interface ListFilter {
  /** Whether the item (with its `id`) is the key's to see. */
  visible(id: string, item: Record<string, unknown>): boolean;
  /** Called for each item kept (e.g. to record the model a listed fine-tuning job produced). */
  onVisible?: ((item: Record<string, unknown>) => void) | undefined;
  /** The page size the client asked for (the upstream was asked for more); more kept items set `has_more`. */
  limit?: number | undefined;
}

export function filterOwnedList(body: unknown, filter: ListFilter): unknown {
  if (!isJsonObject(body) || !Array.isArray(body.data)) {
    return { object: 'list', data: [], first_id: null, last_id: null, has_more: false };
  }
  const list = body as Record<string, unknown> & { data: unknown[] };
  const data: Record<string, unknown>[] = [];
  let truncated = false;
  for (const item of list.data) {
    if (filter.limit !== undefined && data.length >= filter.limit) {
      truncated = true;
      break;
    }
    if (!isJsonObject(item)) continue;
    const entry = item;
    if (typeof entry.id !== 'string' || !filter.visible(entry.id, entry)) continue;
    filter.onVisible?.(entry);
    data.push(entry);
  }
  const out: Record<string, unknown> = { ...list, data };
  const first = data[0]?.id ?? null;
  const last = data[data.length - 1]?.id ?? null;
  if ('first_id' in list) out.first_id = first;
  if ('last_id' in list) out.last_id = last;
  if ('has_more' in list || truncated) out.has_more = list.has_more === true || truncated;
  return out;
}
