import { adminBodyLimit } from '../admin/body-guard.js';
import type { AdminApp } from '../admin/routes/route-helpers.js';
import type { BodyPace } from '../gateway/request-body.js';
import { AUTH_MAX_BODY_BYTES } from './auth-body.js';
import { registerAuthSessionRoutes } from './auth-session-routes.js';
import type { ConsoleAuth } from './console-auth.js';
import { registerMfaRoutes } from './mfa-routes.js';
import { registerPasskeyRoutes } from './passkey-routes.js';
import { registerFactorRoutes } from './factor-routes.js';

/**
 * Mounts /admin/v1/auth/* on the admin app. Call it BEFORE the admin token middleware: these routes authenticate
 * by password, setup token, second factor or session cookie themselves.
 */
export function registerConsoleAuthRoutes(app: AdminApp, auth: ConsoleAuth, pace?: BodyPace): void {
  app.use('/auth/*', adminBodyLimit(AUTH_MAX_BODY_BYTES, pace));
  app.use('/auth/*', async (c, next) => {
    await next();
    // Session state and secrets shown once must never sit in a shared cache.
    c.header('cache-control', 'no-store');
  });
  registerAuthSessionRoutes(app, auth);
  registerMfaRoutes(app, auth);
  registerPasskeyRoutes(app, auth);
  registerFactorRoutes(app, auth);
}
