import { KeywardenError } from '../errors/index.js';
import type { Store, UpstreamRecord, VirtualKeyRecord } from '../store/index.js';

/**
 * Which upstream serves keys that name none. The gateway's rule (see UpstreamRegistry.load): the one marked
 * default, else the only upstream. Kept here too so removal knows who depends on the default.
 */
export function effectiveDefault(upstreams: readonly UpstreamRecord[]): UpstreamRecord | null {
  return upstreams.find((u) => u.isDefault) ?? (upstreams.length === 1 ? (upstreams[0] ?? null) : null);
}

/**
 * The default never changes by accident. Called inside the transaction that inserts `added`:
 * - added with `default`: it becomes the only default;
 * - otherwise, if no upstream is marked default yet, the upstream that was serving keys implicitly (the only
 *   one) is marked, so adding a second upstream cannot leave existing keys without one (503 no_upstream); the
 *   very first upstream is marked default when it is added.
 * Returns whether `added` is the default.
 */
export async function settleDefaultOnAdd(store: Store, existing: readonly UpstreamRecord[], wantsDefault: boolean): Promise<boolean> {
  if (wantsDefault) {
    for (const other of existing) if (other.isDefault) await store.upstreams.update(other.id, { isDefault: false });
    return true;
  }
  if (existing.length === 0) return true;
  if (existing.some((u) => u.isDefault)) return false;
  const implicit = effectiveDefault(existing);
  if (implicit) await store.upstreams.update(implicit.id, { isDefault: true });
  return false;
}

/** Makes `target` the only default (inside the caller's transaction). */
export async function makeDefault(store: Store, upstreams: readonly UpstreamRecord[], target: UpstreamRecord): Promise<void> {
  for (const other of upstreams) {
    if (other.id !== target.id && other.isDefault) await store.upstreams.update(other.id, { isDefault: false });
  }
  if (!target.isDefault) await store.upstreams.update(target.id, { isDefault: true });
}

export interface Bindings {
  /** Keys that name the upstream. */
  explicit: VirtualKeyRecord[];
  /** Keys that name no upstream while it is the default. */
  viaDefault: VirtualKeyRecord[];
  /** Keys that list the upstream among their fallbacks: removing it would silently shorten their chain. */
  asFallback: VirtualKeyRecord[];
  isDefault: boolean;
}

/** Keys that would stop working if `upstream` went away; revoked keys never send another request, so they do not count. */
export async function bindingsOf(store: Store, upstreams: readonly UpstreamRecord[], upstream: UpstreamRecord): Promise<Bindings> {
  const isDefault = effectiveDefault(upstreams)?.id === upstream.id;
  const live = (await store.keys.list()).filter((k) => k.revokedAt === null);
  return {
    explicit: live.filter((k) => k.upstreamId === upstream.id),
    viaDefault: isDefault ? live.filter((k) => k.upstreamId === null) : [],
    asFallback: live.filter((k) => k.fallbackUpstreamIds.includes(upstream.id)),
    isDefault,
  };
}

const MAX_LISTED = 10;

/** 409 naming the bound keys (ids and names, at most ten) and the way out. */
export function boundConflict(upstream: UpstreamRecord, bindings: Bindings): KeywardenError {
  const keys = [...new Set([...bindings.explicit, ...bindings.viaDefault, ...bindings.asFallback])];
  const listed = keys.slice(0, MAX_LISTED).map((k) => `${k.name} (${k.id})`);
  const more = keys.length > MAX_LISTED ? ` and ${keys.length - MAX_LISTED} more` : '';
  const why = bindings.viaDefault.length > 0 ? ` It is the default upstream, which serves keys that name none.` : '';
  return new KeywardenError('KW_CONFLICT', {
    message:
      `Upstream "${upstream.name}" (${upstream.id}) is used by ${keys.length} key(s): ${listed.join(', ')}${more}.${why} ` +
      `Remove it with --reassign-to NAME (admin API: ?reassign_to=NAME) to move them to another upstream in the same step.`,
  });
}

/**
 * Moves every key naming `from` to `to` (revoked ones too, so no key points at a removed upstream) and, if `from`
 * was the default, makes `to` the default. Runs inside the caller's audited transaction; key updates bump each
 * key's version, so the gateway's per-key caches see the change on the next request.
 */
export async function reassign(
  store: Store,
  upstreams: readonly UpstreamRecord[],
  from: UpstreamRecord,
  to: UpstreamRecord,
  now: number,
): Promise<{ movedKeyIds: string[]; defaultMoved: boolean }> {
  const movedKeyIds: string[] = [];
  for (const key of await store.keys.list()) {
    const primary = key.upstreamId === from.id;
    if (!primary && !key.fallbackUpstreamIds.includes(from.id)) continue;
    const upstreamId = primary ? to.id : key.upstreamId;
    await store.keys.update(key.id, { upstreamId, fallbackUpstreamIds: replaceFallback(key.fallbackUpstreamIds, from.id, to.id, upstreamId) }, now);
    movedKeyIds.push(key.id);
  }
  const defaultMoved = effectiveDefault(upstreams)?.id === from.id;
  if (defaultMoved) await makeDefault(store, upstreams, to);
  return { movedKeyIds, defaultMoved };
}

/** `from` becomes `to` in a fallback list, in place; dropped instead where `to` is already listed or is the primary. */
function replaceFallback(ids: readonly string[], from: string, to: string, primaryId: string | null): string[] {
  const taken = ids.includes(to) || primaryId === to;
  return ids.flatMap((id) => (id !== from ? [id] : taken ? [] : [to]));
}
