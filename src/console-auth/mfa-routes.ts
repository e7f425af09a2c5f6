import type { Context } from 'hono';
import QRCode from 'qrcode';
import { z } from 'zod';
import { KeywardenError } from '../errors/index.js';
import type { AdminApp } from '../admin/routes/route-helpers.js';
import type { ConsoleAuth } from './console-auth.js';
import { parseAuthBody } from './auth-body.js';
import { requireSession, type CurrentSession } from './session-access.js';
import { completeSignIn } from './sign-in-steps.js';
import { verifyPasskeyAssertion } from './passkey-ceremonies.js';

const codeSchema = z.object({ code: z.string().max(64) }).strict();

/** Adding a factor to a signed-in account is itself sensitive: it needs a fresh second factor. */
function assertStepUpForSignedIn(auth: ConsoleAuth, current: CurrentSession): void {
  if (current.record.state === 'signed_in' && !auth.sessions.hasFreshStepUp(current.record)) throw new KeywardenError('KW_STEP_UP_REQUIRED');
}

/** Checks a TOTP code, or a recovery code, counting failures toward the account's lockout. */
export async function checkCode(auth: ConsoleAuth, current: CurrentSession, code: string, kind: 'totp' | 'recovery'): Promise<void> {
  await auth.guard.assertIpAllowed(current.facts.ip);
  await auth.guard.assertUnlocked(current.user.id);
  const ok = kind === 'totp' ? await auth.factors.verifyTotp(current.user, code) : await auth.factors.useRecoveryCode(current.user, code);
  if (!ok) {
    await auth.audit.append({ actor: `ip:${current.facts.ip}`, action: 'user.sign_in_failed', target: `user:${current.user.id}`, after: { reason: kind } });
    await auth.guard.fail(current.user.id, current.facts.ip, 'second_factor');
    throw new KeywardenError('KW_INVALID_SECOND_FACTOR');
  }
  await auth.guard.succeed(current.user.id, 'second_factor');
}

/** The answer to the first factor's enrolment: sign-in completes, and the recovery codes are issued (shown once). */
export async function afterEnrollment(auth: ConsoleAuth, current: CurrentSession, factor: string, firstFactor: boolean, c: Context): Promise<object> {
  await auth.audit.append({ actor: `user:${current.user.id}`, action: 'user.mfa_enrolled', target: `user:${current.user.id}`, after: { factor } });
  const recoveryCodes = firstFactor ? await auth.factors.issueRecoveryCodes(current.user) : undefined;
  if (current.record.state === 'mfa_enrollment_required') {
    return { ...(await completeSignIn(c, auth, current, factor)), ...(recoveryCodes ? { recovery_codes: recoveryCodes } : {}) };
  }
  return { state: current.record.state, ...(recoveryCodes ? { recovery_codes: recoveryCodes } : {}) };
}

/** Second factor at sign-in (TOTP, recovery code), TOTP enrolment, recovery code renewal and step-up by code. */
export function registerMfaRoutes(app: AdminApp, auth: ConsoleAuth): void {
  app.post('/auth/mfa/totp', async (c) => {
    const current = await requireSession(c, auth, ['mfa_required']);
    const { code } = await parseAuthBody(c, codeSchema);
    await checkCode(auth, current, code, 'totp');
    return c.json(await completeSignIn(c, auth, current, 'totp'));
  });

  app.post('/auth/mfa/recovery', async (c) => {
    const current = await requireSession(c, auth, ['mfa_required']);
    const { code } = await parseAuthBody(c, codeSchema);
    await checkCode(auth, current, code, 'recovery');
    return c.json(await completeSignIn(c, auth, current, 'recovery_code'));
  });

  app.post('/auth/totp/enroll/start', async (c) => {
    const current = await requireSession(c, auth, ['mfa_enrollment_required', 'signed_in']);
    assertStepUpForSignedIn(auth, current);
    const issuer = auth.publicUrl ? `keywarden (${new URL(auth.publicUrl).host})` : 'keywarden';
    const url = await auth.factors.startTotpEnrollment(current.user, issuer);
    // The QR code is drawn here, so the seed never goes to a third-party QR service or a client-side library.
    const svg = await QRCode.toString(url, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
    c.header('cache-control', 'no-store');
    return c.json({ otpauth_url: url, qr_svg: svg });
  });

  app.post('/auth/totp/enroll/finish', async (c) => {
    const current = await requireSession(c, auth, ['mfa_enrollment_required', 'signed_in']);
    assertStepUpForSignedIn(auth, current);
    const { code } = await parseAuthBody(c, codeSchema);
    await auth.guard.assertIpAllowed(current.facts.ip);
    await auth.guard.assertUnlocked(current.user.id);
    const firstFactor = !(await auth.factors.hasAny(current.user));
    if (!(await auth.factors.finishTotpEnrollment(current.user, code))) {
      await auth.guard.fail(current.user.id, current.facts.ip, 'second_factor');
      throw new KeywardenError('KW_INVALID_SECOND_FACTOR', { message: 'The code does not match the new authenticator entry; start again if it keeps failing.' });
    }
    c.header('cache-control', 'no-store');
    return c.json(await afterEnrollment(auth, current, 'totp', firstFactor, c));
  });

  app.post('/auth/recovery-codes', async (c) => {
    const current = await requireSession(c, auth, ['signed_in']);
    if (!auth.sessions.hasFreshStepUp(current.record)) throw new KeywardenError('KW_STEP_UP_REQUIRED');
    const codes = await auth.factors.issueRecoveryCodes(current.user);
    await auth.audit.append({ actor: `user:${current.user.id}`, action: 'user.recovery_codes_regenerated', target: `user:${current.user.id}` });
    c.header('cache-control', 'no-store');
    return c.json({ recovery_codes: codes });
  });

  app.post('/auth/step-up', async (c) => {
    const current = await requireSession(c, auth, ['signed_in']);
    const body = await parseAuthBody(c, z.object({ code: z.string().max(64).optional(), response: z.unknown().optional() }).strict());
    if (body.response !== undefined) {
      await verifyPasskeyAssertion(auth, c, body.response, { purpose: 'step_up', current });
    } else if (body.code !== undefined) {
      // Six digits are a TOTP code; anything else is tried as a recovery code.
      const kind = /^[\d\s-]{6,9}$/.test(body.code) && body.code.replace(/[\s-]/g, '').length === 6 ? 'totp' : 'recovery';
      await checkCode(auth, current, body.code, kind);
    } else {
      throw new KeywardenError('KW_VALIDATION', { message: 'Send {code} (authenticator or recovery code) or {response} (a passkey assertion).' });
    }
    const until = await auth.sessions.markStepUp(current.record);
    await auth.audit.append({ actor: `user:${current.user.id}`, action: 'user.step_up', target: `user:${current.user.id}` });
    return c.json({ step_up_until: until });
  });
}
