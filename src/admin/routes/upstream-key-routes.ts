import type { Schema } from 'hono';
import { upstreamView, type UpstreamService } from '../upstream-service.js';
import type { RotationOutcome } from '../upstream-key-service.js';
import { addUpstreamKeySchema, removeUpstreamKeyQuery, rotateUpstreamKeySchema } from '../upstream-schemas.js';
import { adminActor, parseJsonBody, parseQuery, pathParam, type AdminApp } from './route-helpers.js';

function outcomeView(outcome: RotationOutcome): Record<string, unknown> {
  return {
    ...upstreamView(outcome.record),
    added_key_id: outcome.addedKeyId || null,
    removed_key_ids: outcome.removedKeyIds,
    // Above 0 only after a drain timeout: those requests still run on the old key; wait before revoking it.
    in_flight_at_removal: outcome.inFlightAtRemoval,
  };
}

/**
 * Provider keys of an upstream (owner role, like every upstream write; audited). The key is only ever in a request
 * body, answered as `…last4`.
 * - POST   /upstreams/:ref/keys         {key}                      add one
 * - POST   /upstreams/:ref/keys/rotate  {key, replace?, drain_timeout_ms?}  switch, drain, remove the old
 * - DELETE /upstreams/:ref/keys/:keyId  [?drain_timeout_ms=N]      drain, remove one (never the last)
 */
export function registerUpstreamKeyRoutes<S extends Schema, B extends string>(app: AdminApp<S, B>, upstreams: UpstreamService): void {
  app.post('/upstreams/:ref/keys/rotate', async (c) => {
    const input = await parseJsonBody(c, rotateUpstreamKeySchema);
    const outcome = await upstreams.keys.rotate(pathParam(c, 'ref'), input.key, adminActor(c), {
      ...(input.replace ? { replaceKeyIds: input.replace } : {}),
      ...(input.drain_timeout_ms !== undefined ? { drainTimeoutMs: input.drain_timeout_ms } : {}),
    });
    return c.json(outcomeView(outcome));
  });

  app.post('/upstreams/:ref/keys', async (c) => {
    const input = await parseJsonBody(c, addUpstreamKeySchema);
    const record = await upstreams.keys.addKey(pathParam(c, 'ref'), input.key, adminActor(c));
    return c.json(upstreamView(record), 201);
  });

  app.delete('/upstreams/:ref/keys/:keyId', async (c) => {
    const query = parseQuery(c, removeUpstreamKeyQuery);
    const outcome = await upstreams.keys.removeKey(pathParam(c, 'ref'), pathParam(c, 'keyId'), adminActor(c), query.drain_timeout_ms);
    return c.json(outcomeView(outcome));
  });
}
