import type { Context, Input } from 'hono';
import { requiredRole, roleAllows } from '../admin/admin-roles.js';
import type { AdminEnv } from '../admin/routes/route-helpers.js';
import { KeywardenError } from '../errors/index.js';
import type { ConsoleAuth } from './console-auth.js';
import { requireSession } from './session-access.js';
import { needsStepUp } from './step-up-paths.js';

/**
 * The admin API with a console session instead of a Bearer token: the session must be fully signed in (a session
 * still owing a second factor, or its enrolment, reaches nothing here), state-changing calls need the CSRF token,
 * the user's role is checked by the same deny-by-default rules as tokens, and sensitive routes need a step-up.
 */
export async function authenticateConsoleSession<P extends string, I extends Input>(c: Context<AdminEnv, P, I>, auth: ConsoleAuth): Promise<void> {
  const current = await requireSession(c, auth, ['signed_in']).catch((err: unknown) => {
    // No cookie at all: the same answer as a missing admin token, which is what an API client expects.
    if (err instanceof KeywardenError && err.code === 'KW_SESSION_EXPIRED' && c.req.header('cookie') === undefined) throw new KeywardenError('KW_ADMIN_UNAUTHORIZED');
    throw err;
  });
  const needed = requiredRole(c.req.method, c.req.path);
  if (!roleAllows(current.user.role, needed)) {
    throw new KeywardenError('KW_ADMIN_FORBIDDEN', { message: `Your role is "${current.user.role}"; this action needs "${needed}".` });
  }
  if (needsStepUp(c.req.method, c.req.path) && !auth.sessions.hasFreshStepUp(current.record)) throw new KeywardenError('KW_STEP_UP_REQUIRED');
  c.set('adminId', current.user.id);
  c.set('adminRole', current.user.role);
  // Sessions are never project-limited: that is a property of tokens made for automation.
  c.set('adminProject', null);
  c.set('sessionUserId', current.user.id);
}
