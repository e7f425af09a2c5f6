import { z } from 'zod';
import type { ProviderServices } from '../../providers/create-providers.js';
import { linkUpstreamSchema, serviceAccountUpstreamSchema } from '../../providers/rotation/upstream-linking.js';
import { upstreamView } from '../upstream-service.js';
import { requireOwner } from './owner-gate.js';
import { adminActor, parseJsonBody, pathParam, type AdminApp } from './route-helpers.js';

const rotateSchema = z.object({ drain_timeout_ms: z.number().int().min(0).max(3_600_000).optional() }).strict();

/**
 * Rotation of upstream keys at the provider (owner only, audited step by step):
 * - GET    /upstreams/:ref/provider                     the upstream's service-account link and rotation period
 * - PUT    /upstreams/:ref/provider  {project_id?, service_account_id?, rotation?}  link (discovered when no ids) / set period
 * - DELETE /upstreams/:ref/provider                     unlink
 * - POST   /upstreams/:ref/rotate    {drain_timeout_ms?}  new key at the provider, switch, drain, delete the old one
 * - POST   /upstreams/service-accounts {name, project_id, …}  new service account + its key as a new upstream
 * - POST   /upstreams/rotation/run                      one scheduled-rotation pass now
 */
export function registerUpstreamRotationRoutes(app: AdminApp, providers: ProviderServices): void {
  app.get('/upstreams/:ref/provider', async (c) => c.json(await providers.linking.view(pathParam(c, 'ref'))));
  app.put('/upstreams/:ref/provider', async (c) => {
    requireOwner(c);
    const input = await parseJsonBody(c, linkUpstreamSchema);
    return c.json(await providers.linking.link(pathParam(c, 'ref'), input, adminActor(c)));
  });
  app.delete('/upstreams/:ref/provider', async (c) => {
    requireOwner(c);
    return c.json(await providers.linking.unlink(pathParam(c, 'ref'), adminActor(c)));
  });
  app.post('/upstreams/service-accounts', async (c) => {
    requireOwner(c);
    const input = await parseJsonBody(c, serviceAccountUpstreamSchema);
    const created = await providers.linking.createWithServiceAccount(input, adminActor(c));
    return c.json({ ...upstreamView(created.upstream), provider_link: created.link }, 201);
  });
  app.post('/upstreams/rotation/run', async (c) => {
    requireOwner(c);
    return c.json({ object: 'rotation_pass', ...(await providers.rotationJob.runOnce()) });
  });
  app.post('/upstreams/:ref/rotate', async (c) => {
    requireOwner(c);
    const input = await parseJsonBody(c, rotateSchema);
    const options = input.drain_timeout_ms === undefined ? {} : { drainTimeoutMs: input.drain_timeout_ms };
    return c.json(await providers.rotation.rotate(pathParam(c, 'ref'), adminActor(c), options));
  });
}
