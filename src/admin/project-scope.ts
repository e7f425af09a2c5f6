import type { Context } from 'hono';
import { KeywardenError } from '../errors/index.js';
import type { AdminEnv } from './routes/route-helpers.js';

/**
 * Routes a project-limited admin token may reach, whatever its role. Deny by default: anything not listed here
 * (upstreams, alerts, audit, admin tokens, usage records, leak reports, project writes, routes added later) is
 * refused before it runs, so a new route cannot leak another project's data by forgetting a filter. The listed
 * routes filter by the token's project themselves (see router.ts and project-routes.ts).
 */
const SCOPED_ROUTES: ReadonlyArray<{ methods: readonly string[]; pattern: RegExp }> = [
  { methods: ['GET', 'HEAD', 'POST'], pattern: /^\/admin\/v1\/keys$/ },
  { methods: ['GET', 'HEAD', 'PATCH'], pattern: /^\/admin\/v1\/keys\/(?!report-leak$)[^/]+$/ },
  { methods: ['POST'], pattern: /^\/admin\/v1\/keys\/(?!report-leak$)[^/]+\/(rotate|revoke|suspend|unsuspend)$/ },
  { methods: ['GET', 'HEAD'], pattern: /^\/admin\/v1\/usage$/ },
  { methods: ['GET', 'HEAD'], pattern: /^\/admin\/v1\/keys\/(?!report-leak$)[^/]+\/stats$/ },
  { methods: ['GET', 'HEAD'], pattern: /^\/admin\/v1\/stats\/overview$/ },
  { methods: ['GET', 'HEAD'], pattern: /^\/admin\/v1\/projects(\/[^/]+)?$/ },
];

/** Throws 403 when a project-limited token asks for a route outside its project's reach. */
export function assertScopedRouteAllowed(projectId: string | null, method: string, path: string): void {
  if (projectId === null) return;
  if (SCOPED_ROUTES.some((route) => route.methods.includes(method) && route.pattern.test(path))) return;
  throw new KeywardenError('KW_ADMIN_FORBIDDEN', { message: 'This admin token is limited to one project; this action is outside it.' });
}

/** The project the calling token is limited to, or null for an unlimited token. */
export function tokenProject(c: Context<AdminEnv>): string | null {
  return c.get('adminProject');
}
