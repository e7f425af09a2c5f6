import type { Schema } from 'hono';
import { upstreamView, type UpstreamService } from '../upstream-service.js';
import { removeUpstreamQuery, updateUpstreamSchema } from '../upstream-schemas.js';
import { registerUpstreamKeyRoutes } from './upstream-key-routes.js';
import { adminActor, parseJsonBody, parseQuery, pathParam, type AdminApp } from './route-helpers.js';

export interface UpstreamRouteDeps {
  upstreams: UpstreamService;
}

/**
 * PATCH /upstreams/:ref (id or name) and DELETE /upstreams/:ref[?reassign_to=NAME]. Removal is refused with 409
 * while keys depend on the upstream; reassign_to moves them in the same audited transaction.
 */
export function registerUpstreamRoutes<S extends Schema, B extends string>(app: AdminApp<S, B>, deps: UpstreamRouteDeps): void {
  registerUpstreamKeyRoutes(app, deps.upstreams);
  app.patch('/upstreams/:ref', async (c) => {
    const input = await parseJsonBody(c, updateUpstreamSchema);
    const record = await deps.upstreams.update(pathParam(c, 'ref'), input, adminActor(c));
    return c.json(upstreamView(record));
  });

  app.delete('/upstreams/:ref', async (c) => {
    const query = parseQuery(c, removeUpstreamQuery);
    const removed = await deps.upstreams.remove(pathParam(c, 'ref'), adminActor(c), query.reassign_to);
    return c.json({
      ...upstreamView(removed.record),
      deleted: true,
      reassigned: removed.reassigned ? { moved_key_ids: removed.reassigned.movedKeyIds, default_moved: removed.reassigned.defaultMoved } : null,
    });
  });
}
