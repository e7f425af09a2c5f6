import { z } from 'zod';
import { KeywardenError } from '../errors/index.js';
import type { AdminApp } from '../admin/routes/route-helpers.js';
import type { ConsoleAuth } from './console-auth.js';
import { parseAuthBody } from './auth-body.js';
import { assertSameOrigin, optionalSession, requireSession, type CurrentSession } from './session-access.js';
import { authenticationOptions, registrationOptions, verifyPasskeyAssertion, verifyRegistration } from './passkey-ceremonies.js';
import { completeSignIn, openSession } from './sign-in-steps.js';
import { afterEnrollment } from './mfa-routes.js';

function assertStepUpForSignedIn(auth: ConsoleAuth, current: CurrentSession): void {
  if (current.record.state === 'signed_in' && !auth.sessions.hasFreshStepUp(current.record)) throw new KeywardenError('KW_STEP_UP_REQUIRED');
}

/** WebAuthn: passkey registration, passkey as second factor or passwordless sign-in, and step-up options. */
export function registerPasskeyRoutes(app: AdminApp, auth: ConsoleAuth): void {
  app.post('/auth/passkeys/register/options', async (c) => {
    const current = await requireSession(c, auth, ['mfa_enrollment_required', 'signed_in']);
    assertStepUpForSignedIn(auth, current);
    return c.json(await registrationOptions(auth, current));
  });

  app.post('/auth/passkeys/register/verify', async (c) => {
    const current = await requireSession(c, auth, ['mfa_enrollment_required', 'signed_in']);
    assertStepUpForSignedIn(auth, current);
    const body = await parseAuthBody(c, z.object({ response: z.unknown(), name: z.string().max(64).optional() }).strict());
    const firstFactor = !(await auth.factors.hasAny(current.user));
    await verifyRegistration(auth, current, body.response, body.name);
    c.header('cache-control', 'no-store');
    return c.json(await afterEnrollment(auth, current, 'passkey', firstFactor, c));
  });

  // Anonymous: passwordless sign-in with a discoverable passkey (no user name is looked up, so nothing is
  // revealed about which accounts exist). In `mfa_required`: the passkey as the second factor.
  app.post('/auth/passkeys/login/options', async (c) => {
    const facts = auth.facts(c);
    assertSameOrigin(c, facts);
    const current = await optionalSession(c, auth).catch(() => null);
    if (current && current.record.state === 'mfa_required') {
      const checked = await requireSession(c, auth, ['mfa_required']);
      return c.json(await authenticationOptions(auth, facts, 'second_factor', checked));
    }
    return c.json(await authenticationOptions(auth, facts, 'login', null));
  });

  app.post('/auth/passkeys/login/verify', async (c) => {
    const facts = auth.facts(c);
    assertSameOrigin(c, facts);
    const body = await parseAuthBody(c, z.object({ response: z.unknown() }).strict());
    const current = await optionalSession(c, auth).catch(() => null);
    if (current && current.record.state === 'mfa_required') {
      const checked = await requireSession(c, auth, ['mfa_required']);
      await verifyPasskeyAssertion(auth, c, body.response, { purpose: 'second_factor', current: checked });
      return c.json(await completeSignIn(c, auth, checked, 'passkey'));
    }
    const user = await verifyPasskeyAssertion(auth, c, body.response, { purpose: 'login', current: null });
    if (current) await auth.store.sessions.revoke(current.record.idHash, auth.now());
    return c.json(await openSession(c, auth, user, facts, 'signed_in'));
  });

  app.post('/auth/step-up/options', async (c) => {
    const current = await requireSession(c, auth, ['signed_in']);
    return c.json(await authenticationOptions(auth, current.facts, 'step_up', current));
  });
}
