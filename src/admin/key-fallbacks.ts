import { KeywardenError } from '../errors/index.js';
import type { Store } from '../store/index.js';

/** More fallbacks than this only lengthens the worst case (every attempt can wait for a connect timeout). */
export const MAX_FALLBACKS = 5;

function invalid(message: string): KeywardenError {
  return new KeywardenError('KW_VALIDATION', { message, param: 'fallbacks' });
}

/**
 * Resolves a key's ordered fallbacks (upstream ids or names) to ids. Refused: unknown upstreams, the same upstream
 * twice (by id or name), the key's own primary, and more than MAX_FALLBACKS. Order is kept: it is the try order.
 */
export async function resolveFallbacks(store: Store, refs: readonly string[], primaryId: string | null): Promise<string[]> {
  if (refs.length > MAX_FALLBACKS) throw invalid(`At most ${MAX_FALLBACKS} fallbacks.`);
  const ids: string[] = [];
  for (const ref of refs) {
    const upstream = (await store.upstreams.get(ref)) ?? (await store.upstreams.getByName(ref));
    if (!upstream) throw invalid(`Unknown upstream "${ref}".`);
    if (upstream.id === primaryId) throw invalid(`"${ref}" is the key's primary upstream; a fallback must be another one.`);
    if (ids.includes(upstream.id)) throw invalid(`"${ref}" is listed twice.`);
    ids.push(upstream.id);
  }
  return ids;
}

/** The primary changed: it may not stay among the fallbacks. */
export function assertPrimaryNotFallback(primaryId: string | null, fallbackIds: readonly string[]): void {
  if (primaryId !== null && fallbackIds.includes(primaryId)) {
    throw invalid('The new primary upstream is one of the key\'s fallbacks; change the fallbacks too.');
  }
}
