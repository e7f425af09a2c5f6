import { Hono, type Context } from 'hono';
import type { z } from 'zod';
import { formatIssues } from '../config/index.js';
import { KeywardenError, asKeywardenError, toOpenAIError } from '../errors/index.js';
import { describeError, type Logger } from '../log/logger.js';
import type { AuditLog } from '../audit/index.js';
import type { Limiter } from '../limits/limiter.js';
import type { AlertRepository, RollupRepository } from '../monitor/repositories.js';
import { registerAlertRoutes } from './routes/alerts-routes.js';
import { registerAuditRoutes } from './routes/audit-routes.js';
import { registerAdminTokenRoutes } from './routes/admin-token-routes.js';
import { requiredRole, roleAllows } from './admin-roles.js';
import { adminActor, type AdminEnv } from './routes/route-helpers.js';
import { keyPropagationHook } from './key-propagation-hook.js';
import { registerUsageRollupRoutes } from './routes/usage-rollup-routes.js';
import { registerUsageRecordRoutes } from './routes/usage-records-routes.js';
import { adminBodyLimit, closeIfBodyUnread, parseAdminJson } from './body-guard.js';
import type { BodyPace } from '../gateway/request-body.js';
import { registerUpstreamRoutes } from './routes/upstream-routes.js';
import { registerProviderRoutes } from './routes/provider-routes.js';
import type { ProviderServices } from '../providers/create-providers.js';
import { USAGE_GROUPS, type Store, type UsageQuery, type UsageSummaryRow } from '../store/index.js';
import { toCsv } from '../util/csv.js';
import type { AdminTokenService } from './admin-tokens.js';
import type { KeyService } from './key-service.js';
import { keyView } from './key-view.js';
import { registerKeyListRoute } from './routes/key-list-route.js';
import { loadNames } from './name-lookup.js';
import { createChildKeySchema, createKeySchema, createUpstreamSchema, leakReportSchema, rotateKeySchema, suspendKeySchema, updateKeySchema } from './schemas.js';
import { upstreamView, type UpstreamService } from './upstream-service.js';
import { assertScopedRouteAllowed, tokenProject } from './project-scope.js';
import { ProjectService } from './project-service.js';
import { loadProjectLookup } from './project-lookup.js';
import { registerProjectRoutes } from './routes/project-routes.js';
import { summarizeUsage, type AdminUsageGroup } from './usage-by-project.js';
import { EXPLORER_GROUPS, usageRows, type ExplorerGroup } from './usage-explorer.js';
import { registerStatsRoutes } from './routes/stats-routes.js';
import type { RollupCoverage } from './stats/range-plan.js';
import type { ConsoleAuth } from '../console-auth/console-auth.js';
import { registerConsoleAuthRoutes } from '../console-auth/register-console-auth.js';
import { authenticateConsoleSession } from '../console-auth/admin-session-auth.js';
import { registerUserRoutes } from '../console-auth/user-routes.js';

export interface AdminDeps {
  store: Store;
  keys: KeyService;
  upstreams: UpstreamService;
  adminTokens: AdminTokenService;
  limiter: Limiter;
  audit: AuditLog;
  alerts: AlertRepository;
  rollups: RollupRepository;
  /** monitor.retention.hourMs, for the rollup report. */
  hourRetentionMs: number;
  /** Cap on request bodies (config `server.adminMaxBodyBytes`); 1 MiB when absent. */
  maxBodyBytes?: number;
  /** How slowly a body may arrive (config `server.bodyTimeoutMs`, `bodyMinBytesPerSecond`); unpaced when absent. */
  bodyPace?: BodyPace;
  logger: Logger;
  now: () => number;
  /** Provider-side key management (providers/); absent in tests that do not need it. */
  providers?: ProviderServices;
  /** What the monitor's rollups hold (stats/rollup-coverage.ts); absent: nothing, every statistic is read raw. */
  rollupCoverage?: (now: number) => RollupCoverage;
  /** Console sign-in (users, sessions, MFA); without it only admin tokens are accepted. */
  consoleAuth?: ConsoleAuth;
}

type Env = AdminEnv;

const noRollups = (): RollupCoverage => ({ completeBefore: null, minuteSince: Infinity, hourSince: Infinity });

const DEFAULT_ADMIN_MAX_BODY_BYTES = 1_048_576;

async function parseBody<T extends z.ZodType>(c: Context, schema: T): Promise<z.output<T>> {
  let text: string;
  try {
    text = await c.req.text();
  } catch {
    throw new KeywardenError('KW_INVALID_JSON');
  }
  const raw = parseAdminJson(text);
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

const USAGE_METRIC_FIELDS: ReadonlyArray<keyof UsageSummaryRow> = [
  'requests',
  'errors',
  'promptTokens',
  'cachedTokens',
  'completionTokens',
  'reasoningTokens',
  'costUsd',
  'unpricedRequests',
];

/** `group_by=key,model,upstream,day,hour,project` (any explorable subset; default key, model, day). */
function groupByParam(c: Context): ExplorerGroup[] {
  const raw = c.req.query('group_by');
  if (raw === undefined || raw === '') return [...USAGE_GROUPS];
  const groups = [...new Set(raw.split(',').map((g) => g.trim()))];
  const unknown = groups.filter((g) => !(EXPLORER_GROUPS as readonly string[]).includes(g));
  if (unknown.length > 0) {
    throw new KeywardenError('KW_VALIDATION', { message: `group_by: unknown dimension ${unknown.join(', ')} (use ${EXPLORER_GROUPS.join(', ')})`, param: 'group_by' });
  }
  return groups as ExplorerGroup[];
}

/** REST admin API under /admin/v1. Every route requires an admin token. */
export function createAdminApp(deps: AdminDeps): Hono<Env> {
  const app = new Hono<Env>().basePath('/admin/v1');

  app.onError((err, c) => {
    const error = asKeywardenError(err);
    if (error.status >= 500) deps.logger.error('admin request failed', { code: error.code, ...describeError(err) });
    for (const [name, value] of Object.entries(error.headers)) c.header(name, value);
    return closeIfBodyUnread(c, c.json(toOpenAIError(error), error.status as 400));
  });
  app.notFound((c) => c.json(toOpenAIError(new KeywardenError('KW_NOT_FOUND')), 404));

  const consoleAuth = deps.consoleAuth;
  if (consoleAuth) registerConsoleAuthRoutes(app, consoleAuth, deps.bodyPace);
  app.use('*', async (c, next) => {
    // No Authorization header: the console's session cookie may stand in for a token (same role rules, plus CSRF).
    if (consoleAuth && c.req.header('authorization') === undefined) {
      await authenticateConsoleSession(c, consoleAuth);
      return next();
    }
    const match = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '');
    const record = match?.[1] ? await deps.adminTokens.verify(match[1]) : null;
    if (!record) throw new KeywardenError('KW_ADMIN_UNAUTHORIZED');
    const needed = requiredRole(c.req.method, c.req.path);
    if (!roleAllows(record.role, needed)) {
      throw new KeywardenError('KW_ADMIN_FORBIDDEN', { message: `This admin token has the role "${record.role}"; this action needs "${needed}".` });
    }
    assertScopedRouteAllowed(record.projectId ?? null, c.req.method, c.req.path);
    c.set('adminId', record.id);
    c.set('adminRole', record.role);
    c.set('adminProject', record.projectId ?? null);
    await next();
  });
  const projects = new ProjectService(deps.store, deps.now, deps.audit);
  // Resolves the :id of a key route as the calling token may see it (project-limited tokens: own project only).
  const scopedKeyId = async (c: Context<Env>): Promise<string> => (await deps.keys.getInProject(c.req.param('id') ?? '', tokenProject(c))).id;
  /**
   * A limited token creates and moves keys only within its own project, and may not point a key's objects_from
   * at a key outside it (that would open another project's stored files and responses).
   */
  const assertProjectField = async (c: Context<Env>, input: { project?: string | null; objects_from?: string[] }): Promise<void> => {
    const scope = tokenProject(c);
    if (scope === null) return;
    const ref = input.project;
    if (ref !== undefined && (ref === null || (await deps.keys.projectIdOf(ref)) !== scope)) {
      throw new KeywardenError('KW_ADMIN_FORBIDDEN', { message: 'This admin token is limited to one project; keys cannot leave it.', param: 'project' });
    }
    for (const owner of input.objects_from ?? []) {
      await deps.keys.getInProject(owner, scope).catch(() => {
        throw new KeywardenError('KW_VALIDATION', { message: `objects_from: unknown key "${owner}".`, param: 'objects_from' });
      });
    }
  };
  app.use('*', adminBodyLimit(deps.maxBodyBytes ?? DEFAULT_ADMIN_MAX_BODY_BYTES, deps.bodyPace));
  app.use('/keys/*', keyPropagationHook(deps));

  registerKeyListRoute(app, {
    listPage: (page) => deps.store.keys.listPage(page),
    sources: (now) => ({ rollups: deps.rollups, usage: deps.store.usage, coverage: (deps.rollupCoverage ?? noRollups)(now) }),
    now: deps.now,
  });
  app.post('/keys', async (c) => {
    const input = await parseBody(c, createKeySchema);
    await assertProjectField(c, input);
    const scope = tokenProject(c);
    const issued = await deps.keys.create(scope === null ? input : { ...input, project: scope }, adminActor(c));
    return c.json({ ...keyView(issued.record, deps.now()), key: issued.secret }, 201);
  });
  // Declared before /keys/:id so the literal path wins.
  app.post('/keys/report-leak', async (c) => {
    const input = await parseBody(c, leakReportSchema);
    const result = await deps.keys.reportLeak(input.key, input.source, input.revoke, adminActor(c));
    if (!result) return c.json({ object: 'leak_report', found: false, key_id: null, revoked: false });
    return c.json({ object: 'leak_report', found: true, key_id: result.record.id, revoked: result.revoked });
  });
  app.get('/keys/:id', async (c) => {
    const key = await deps.keys.getInProject(c.req.param('id'), tokenProject(c));
    const now = deps.now();
    return c.json({ ...keyView(key, now), budgets: await deps.limiter.budgetStatus(key, now) });
  });
  app.patch('/keys/:id', async (c) => {
    // The body is checked first (a malformed body is a 400 whatever the key), as before projects existed.
    const input = await parseBody(c, updateKeySchema);
    const id = await scopedKeyId(c);
    await assertProjectField(c, input);
    const record = await deps.keys.update(id, input, adminActor(c));
    return c.json(keyView(record, deps.now()));
  });
  app.post('/keys/:id/rotate', async (c) => {
    const input = await parseBody(c, rotateKeySchema);
    const id = await scopedKeyId(c);
    const issued = await deps.keys.rotate(id, input.grace, adminActor(c));
    return c.json({ ...keyView(issued.record, deps.now()), key: issued.secret });
  });
  app.post('/keys/:id/revoke', async (c) => {
    const id = await scopedKeyId(c);
    // ?children=true also revokes the key's ephemeral children (they die with a revoked parent on their next
    // request regardless; this makes it visible in their own status and audit trail).
    const children = c.req.query('children') === 'true' ? await deps.keys.revokeChildren(id, adminActor(c)) : [];
    const key = await deps.keys.revoke(id, adminActor(c));
    return c.json({ ...keyView(key, deps.now()), ...(children.length > 0 ? { revoked_children: children.map((k) => k.id) } : {}) });
  });
  app.post('/keys/:id/children', async (c) => {
    const issued = await deps.keys.createChild(await scopedKeyId(c), await parseBody(c, createChildKeySchema), adminActor(c));
    return c.json({ ...keyView(issued.record, deps.now()), key: issued.secret }, 201);
  });
  app.post('/keys/:id/suspend', async (c) => {
    const input = await parseBody(c, suspendKeySchema);
    const id = await scopedKeyId(c);
    return c.json(keyView(await deps.keys.suspend(id, input.reason ?? 'suspended by an admin', adminActor(c)), deps.now()));
  });
  app.post('/keys/:id/unsuspend', async (c) => c.json(keyView(await deps.keys.unsuspend(await scopedKeyId(c), adminActor(c)), deps.now())));
  registerProjectRoutes(app, { projects, limiter: deps.limiter, now: deps.now });

  app.get('/upstreams', async (c) => c.json({ object: 'list', data: (await deps.upstreams.list()).map(upstreamView) }));
  app.post('/upstreams', async (c) => {
    const record = await deps.upstreams.add(await parseBody(c, createUpstreamSchema), adminActor(c));
    return c.json(upstreamView(record), 201);
  });
  registerUpstreamRoutes(app, { upstreams: deps.upstreams });

  // key_id takes an id or a name, like every other key reference.
  const usageQuery = async (c: Context<Env>): Promise<UsageQuery> => {
    const keyRef = c.req.query('key_id');
    return { since: timeParam(c, 'since'), until: timeParam(c, 'until'), keyId: keyRef ? (await deps.keys.getInProject(keyRef, tokenProject(c))).id : undefined };
  };
  app.get('/usage', async (c) => {
    const groupBy = groupByParam(c);
    const query = await usageQuery(c);
    const scope = tokenProject(c);
    const now = deps.now();
    const sources = { rollups: deps.rollups, usage: deps.store.usage, coverage: (deps.rollupCoverage ?? noRollups)(now) };
    // Only reached for groupings without upstream or hour (usageRows refuses those otherwise).
    const summarize = () => summarizeUsage(deps.store, query, groupBy.filter((g): g is AdminUsageGroup => g !== 'upstream' && g !== 'hour'), scope);
    const [rows, names, projectList] = await Promise.all([
      usageRows(deps.store, sources, query, groupBy, now, scope, summarize),
      loadNames(deps.store),
      groupBy.includes('project') ? deps.store.projects.list() : Promise.resolve([]),
    ]);
    const projectNames = new Map(projectList.map((p) => [p.id, p.name]));
    const named = rows.map((row) => ({
      ...row,
      ...(row.keyId === undefined ? {} : { keyName: names.key(row.keyId) }),
      ...(row.upstreamId === undefined ? {} : { upstreamName: names.upstream(row.upstreamId) }),
      ...(row.projectId === undefined ? {} : { projectName: row.projectId === null ? null : (projectNames.get(row.projectId) ?? null) }),
    }));
    if (c.req.query('format') === 'csv') {
      const has = (g: ExplorerGroup) => groupBy.includes(g);
      const dims = [
        ...(has('project') ? ['projectId', 'projectName'] : []),
        ...(has('key') ? ['keyId', 'keyName'] : []),
        ...(has('model') ? ['model'] : []),
        ...(has('upstream') ? ['upstreamId', 'upstreamName'] : []),
        ...(has('day') ? ['day'] : []),
        ...(has('hour') ? ['hour'] : []),
      ];
      const columns = [...dims, ...USAGE_METRIC_FIELDS];
      return c.body(toCsv(columns, named.map((row) => columns.map((column) => (row as Record<string, string | number | null | undefined>)[column]))), 200, {
        'content-type': 'text/csv; charset=utf-8',
      });
    }
    return c.json({ object: 'list', data: named });
  });
  registerUsageRecordRoutes(app, {
    usage: deps.store.usage,
    names: () => loadNames(deps.store),
    // A name resolves to its key; an id is taken as it is, so records of a deleted key stay reachable.
    resolveKeyId: async (ref) => (ref.startsWith('key_') ? ref : (await deps.keys.get(ref)).id),
  });

  registerAlertRoutes(app, {
    alerts: deps.alerts,
    audit: deps.audit,
    now: deps.now,
    names: () => loadNames(deps.store),
    keys: deps.keys,
    projects: () => loadProjectLookup(deps.store),
  });
  registerAuditRoutes(app, { audit: deps.audit });
  registerAdminTokenRoutes(app, { adminTokens: deps.adminTokens, now: deps.now, resolveProject: async (ref) => (await projects.get(ref)).id });
  registerUsageRollupRoutes(app, { rollups: deps.rollups, now: deps.now, hourRetentionMs: deps.hourRetentionMs });
  if (deps.providers) registerProviderRoutes(app, deps.providers);
  registerStatsRoutes(app, { ...deps, coverage: deps.rollupCoverage ?? noRollups });
  if (consoleAuth) registerUserRoutes(app, consoleAuth);

  return app;
}
