import { z } from 'zod';
import { formatIssues } from '../../config/index.js';
import { KeywardenError } from '../../errors/index.js';
import type { ProviderServices } from '../../providers/create-providers.js';
import { leakBatchSchema } from '../../providers/leak-report-service.js';
import { buildInventory, listOrganisationKeys } from '../../providers/openai/inventory.js';
import { loadVaultedKeys } from '../../providers/vaulted-keys.js';
import { requireOwner } from './owner-gate.js';
import { registerUpstreamRotationRoutes } from './upstream-rotation-routes.js';
import { adminActor, type AdminApp } from './route-helpers.js';

const connectSchema = z
  .object({
    admin_key: z.string().min(1).max(400),
    base_url: z.string().min(1).max(2048).optional(),
  })
  .strict();

async function body<T extends z.ZodType>(text: string, schema: T): Promise<z.output<T>> {
  let raw: unknown;
  try {
    raw = text.length === 0 ? {} : JSON.parse(text);
  } catch {
    throw new KeywardenError('KW_INVALID_JSON');
  }
  const result = await schema.safeParseAsync(raw);
  if (!result.success) throw new KeywardenError('KW_VALIDATION', { message: `Invalid input:\n${formatIssues(result.error.issues)}` });
  return result.data;
}

/** /admin/v1/providers/openai/*, /admin/v1/leaks and /admin/v1/doctor. */
export function registerProviderRoutes(app: AdminApp, providers: ProviderServices): void {
  app.get('/providers/openai', async (c) => c.json(await providers.connection.view()));
  app.post('/providers/openai/connect', async (c) => {
    requireOwner(c);
    const input = await body(await c.req.text(), connectSchema);
    return c.json(await providers.connection.connect(input.admin_key, input.base_url, adminActor(c)));
  });
  app.get('/providers/openai/keys', async (c) => {
    const client = await providers.connection.client();
    const [{ keys, serviceAccounts }, vaulted] = await Promise.all([listOrganisationKeys(client), loadVaultedKeys(providers.store, providers.vault)]);
    const inventory = buildInventory(keys, serviceAccounts, vaulted, providers.now());
    return c.json({ object: 'list', data: inventory.keys, service_accounts: inventory.service_accounts });
  });
  app.post('/providers/openai/reconcile', async (c) => {
    requireOwner(c);
    return c.json(await providers.reconcile.runOnce());
  });
  app.get('/doctor', async (c) => c.json(await providers.doctor()));
  registerUpstreamRotationRoutes(app, providers);
  app.post('/leaks', async (c) => {
    requireOwner(c);
    const input = await body(await c.req.text(), leakBatchSchema);
    return c.json({ object: 'list', dry_run: input.dry_run, data: await providers.leaks.report(input, adminActor(c)) });
  });
}
