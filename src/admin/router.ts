import { Hono, type Context } from 'hono';
import type { z } from 'zod';
import { formatIssues } from '../config/index.js';
import { KeywardenError, asKeywardenError, toOpenAIError } from '../errors/index.js';
import { describeError, type Logger } from '../log/logger.js';
import type { Limiter } from '../limits/limiter.js';
import type { Store, UsageQuery } from '../store/index.js';
import type { AdminTokenService } from './admin-tokens.js';
import type { KeyService } from './key-service.js';
import { keyView } from './key-view.js';
import { createKeySchema, createUpstreamSchema, rotateKeySchema, updateKeySchema } from './schemas.js';
import { upstreamView, type UpstreamService } from './upstream-service.js';

export interface AdminDeps {
  store: Store;
  keys: KeyService;
  upstreams: UpstreamService;
  adminTokens: AdminTokenService;
  limiter: Limiter;
  logger: Logger;
  now: () => number;
}

type Env = { Variables: { adminId: string } };

async function parseBody<T extends z.ZodType>(c: Context, schema: T): Promise<z.output<T>> {
  let raw: unknown;
  try {
    const text = await c.req.text();
    raw = text.length === 0 ? {} : JSON.parse(text);
  } catch {
    throw new KeywardenError('KW_INVALID_JSON');
  }
  const result = schema.safeParse(raw);
  if (!result.success) {
    throw new KeywardenError('KW_VALIDATION', { message: `Invalid input:\n${formatIssues(result.error.issues)}` });
  }
  return result.data;
}

function timeParam(c: Context, name: string): number | undefined {
  const value = c.req.query(name);
  if (value === undefined || value === '') return undefined;
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (Number.isNaN(ms)) throw new KeywardenError('KW_VALIDATION', { message: `${name}: expected an ISO date`, param: name });
  return ms;
}

/** REST admin API under /admin/v1. Every route requires an admin token. */
export function createAdminApp(deps: AdminDeps): Hono<Env> {
  const app = new Hono<Env>().basePath('/admin/v1');

  app.onError((err, c) => {
    const error = asKeywardenError(err);
    if (error.status >= 500) deps.logger.error('admin request failed', { code: error.code, ...describeError(err) });
    return c.json(toOpenAIError(error), error.status as 400);
  });
  app.notFound((c) => c.json(toOpenAIError(new KeywardenError('KW_NOT_FOUND')), 404));

  app.use('*', async (c, next) => {
    const match = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '');
    const record = match?.[1] ? await deps.adminTokens.verify(match[1]) : null;
    if (!record) throw new KeywardenError('KW_ADMIN_UNAUTHORIZED');
    c.set('adminId', record.id);
    await next();
  });

  app.get('/keys', async (c) => {
    const now = deps.now();
    return c.json({ object: 'list', data: (await deps.keys.list()).map((k) => keyView(k, now)) });
  });
  app.post('/keys', async (c) => {
    const issued = await deps.keys.create(await parseBody(c, createKeySchema));
    return c.json({ ...keyView(issued.record, deps.now()), key: issued.secret }, 201);
  });
  app.get('/keys/:id', async (c) => {
    const key = await deps.keys.get(c.req.param('id'));
    const now = deps.now();
    return c.json({ ...keyView(key, now), budgets: await deps.limiter.budgetStatus(key, now) });
  });
  app.patch('/keys/:id', async (c) => {
    const record = await deps.keys.update(c.req.param('id'), await parseBody(c, updateKeySchema));
    return c.json(keyView(record, deps.now()));
  });
  app.post('/keys/:id/rotate', async (c) => {
    const input = await parseBody(c, rotateKeySchema);
    const issued = await deps.keys.rotate(c.req.param('id'), input.grace);
    return c.json({ ...keyView(issued.record, deps.now()), key: issued.secret });
  });
  app.post('/keys/:id/revoke', async (c) => c.json(keyView(await deps.keys.revoke(c.req.param('id')), deps.now())));

  app.get('/upstreams', async (c) => c.json({ object: 'list', data: (await deps.upstreams.list()).map(upstreamView) }));
  app.post('/upstreams', async (c) => {
    const record = await deps.upstreams.add(await parseBody(c, createUpstreamSchema));
    return c.json(upstreamView(record), 201);
  });
  app.delete('/upstreams/:ref', async (c) => c.json({ ...upstreamView(await deps.upstreams.remove(c.req.param('ref'))), deleted: true }));

  const usageQuery = (c: Context): UsageQuery => ({
    since: timeParam(c, 'since'),
    until: timeParam(c, 'until'),
    keyId: c.req.query('key_id') || undefined,
  });
  app.get('/usage', async (c) => c.json({ object: 'list', data: await deps.store.usage.summarize(usageQuery(c)) }));
  app.get('/usage/records', async (c) => c.json({ object: 'list', data: await deps.store.usage.list(usageQuery(c)) }));

  return app;
}
