import type { Context, Next } from 'hono';
import type { AuditLog } from '../audit/index.js';
import { describeError, type Logger } from '../log/logger.js';
import type { Store } from '../store/index.js';
import { adminActor, type AdminEnv } from './routes/route-helpers.js';

export const PROPAGATION_HEADER = 'keywarden-propagation';

/** Changes to an existing key (revoke, suspend, rotate, update, leak report): not creation, which nobody has cached. */
function changesExistingKey(method: string, path: string): boolean {
  if (method !== 'POST' && method !== 'PATCH') return false;
  const rest = /\/keys\/(.+)$/.exec(path)?.[1];
  return rest !== undefined && !rest.endsWith('/children');
}

function keyTarget(path: string): string {
  const id = /\/keys\/([^/]+)\//.exec(path)?.[1] ?? /\/keys\/([^/]+)$/.exec(path)?.[1];
  return id !== undefined && id !== 'report-leak' ? `key:${id}` : 'keys';
}

/**
 * After a key change committed on this replica, answers only once every other live replica has dropped the key
 * from its memo (PostgreSQL; SQLite has no other replica), so the next request anywhere sees the change. A replica
 * that does not confirm in time does not fail the call (a revoke is never rolled back): the answer says so in the
 * Keywarden-Propagation header, and a warning and an audit entry name the replica; it still catches up through
 * its version check.
 */
export function keyPropagationHook(deps: { store: Store; audit: AuditLog; logger: Logger }) {
  return async (c: Context<AdminEnv>, next: Next): Promise<void> => {
    await next();
    const wait = deps.store.awaitKeyPropagation;
    if (wait === undefined || c.res.status >= 300 || !changesExistingKey(c.req.method, c.req.path)) return;
    let propagation;
    try {
      propagation = await wait.call(deps.store);
    } catch (err) {
      // Committed already; the version check on each replica remains the safety net.
      deps.logger.warn('key change: could not wait for the other replicas', describeError(err));
      c.res.headers.set(PROPAGATION_HEADER, JSON.stringify({ acknowledged: null, live: null }));
      return;
    }
    c.res.headers.set(PROPAGATION_HEADER, JSON.stringify(propagation));
    if (propagation.missing.length === 0) return;
    deps.logger.warn('key change not acknowledged by every replica in time', { path: c.req.path, acknowledged: propagation.acknowledged, live: propagation.live, missing: propagation.missing.join(', ') });
    await deps.audit
      .append({ actor: adminActor(c), action: 'key.propagation_incomplete', target: keyTarget(c.req.path), after: { ...propagation } })
      .catch((err: unknown) => deps.logger.warn('audit of an incomplete key propagation failed', describeError(err)));
  };
}
