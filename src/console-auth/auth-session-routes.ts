import { z } from 'zod';
import { KeywardenError } from '../errors/index.js';
import type { AdminApp } from '../admin/routes/route-helpers.js';
import type { ConsoleAuth } from './console-auth.js';
import { parseAuthBody } from './auth-body.js';
import { assertPasswordPolicy, dummyPasswordHash, hashPassword, verifyPassword } from './password-hash.js';
import { assertSameOrigin, optionalSession, requireSession } from './session-access.js';
import { afterPassword } from './sign-in-steps.js';
import { clearSessionCookie } from './session-cookie.js';
import { sha256Hex } from './secret-token.js';
import { newUserId, USER_NAME } from './user-names.js';

const loginSchema = z.object({ name: z.string().max(256), password: z.string().max(4096) }).strict();
const setupSchema = z.object({ token: z.string().max(256), name: USER_NAME.optional(), password: z.string().max(4096) }).strict();

/** Public id of a session in lists: a prefix of its hash (the id itself is never stored). */
export const sessionPublicId = (idHash: string): string => idHash.slice(0, 16);

/**
 * /admin/v1/auth: the session state, first-run setup, password sign-in, sign-out and the session list. These run
 * before the admin token middleware; each checks the session (and its CSRF token) itself.
 */
export function registerAuthSessionRoutes(app: AdminApp, auth: ConsoleAuth): void {
  app.get('/auth/session', async (c) => {
    let current = null;
    try {
      current = await optionalSession(c, auth);
    } catch (err) {
      if (!(err instanceof KeywardenError && err.code === 'KW_SESSION_EXPIRED')) throw err;
    }
    if (current === null) return c.json({ state: (await auth.store.users.count()) === 0 ? 'setup_required' : 'anonymous' });
    const { record, user } = current;
    return c.json({
      state: record.state,
      user: { id: user.id, name: user.name, role: user.role, mfa: await auth.factors.summary(user) },
      csrf_token: record.csrfToken,
      step_up_until: record.stepUpUntil !== null && record.stepUpUntil > auth.now() ? record.stepUpUntil : null,
      expires_at: auth.sessions.endsAt(record),
    });
  });

  app.post('/auth/login', async (c) => {
    const facts = auth.facts(c);
    assertSameOrigin(c, facts);
    await auth.guard.assertIpAllowed(facts.ip);
    const input = await parseAuthBody(c, loginSchema);
    const user = await auth.store.users.getByName(input.name);
    // Unknown users, users without a password yet and wrong passwords all cost one scrypt and get the same answer.
    const ok = await verifyPassword(input.password, user?.passwordHash ?? (await dummyPasswordHash()));
    if (user) await auth.guard.assertUnlocked(user.id);
    if (!ok || !user || user.passwordHash === null) {
      if (user) await auth.audit.append({ actor: `ip:${facts.ip}`, action: 'user.sign_in_failed', target: `user:${user.id}`, after: { reason: 'password' } });
      await auth.guard.fail(user?.id ?? null, facts.ip, 'password');
      throw new KeywardenError('KW_INVALID_CREDENTIALS');
    }
    await auth.guard.succeed(user.id, 'password');
    // Housekeeping on a successful sign-in (rare enough to be free): old failures, locks and ended sessions.
    await auth.guard.prune();
    await auth.store.sessions.prune(auth.now());
    return c.json(await afterPassword(c, auth, user, facts));
  });

  app.post('/auth/setup', async (c) => {
    const facts = auth.facts(c);
    assertSameOrigin(c, facts);
    await auth.guard.assertIpAllowed(facts.ip);
    const input = await parseAuthBody(c, setupSchema);
    const now = auth.now();
    const token = await auth.store.authTokens.getSetupToken(sha256Hex(input.token));
    const invalid = async (): Promise<never> => {
      await auth.guard.fail(null, facts.ip, 'password');
      throw new KeywardenError('KW_SETUP_TOKEN_INVALID');
    };
    if (!token || token.usedAt !== null || token.expiresAt <= now) return invalid();
    let user = token.userId === null ? null : await auth.store.users.get(token.userId);
    if (token.userId !== null && (user === null || user.passwordHash !== null)) return invalid();
    // The first-owner link is void once any user exists (two links printed by two starts cannot make two owners).
    if (token.userId === null && (await auth.store.users.count()) > 0) return invalid();
    const name = user?.name ?? input.name;
    if (name === undefined) throw new KeywardenError('KW_VALIDATION', { message: 'name: required', param: 'name' });
    if (user && input.name !== undefined && input.name !== user.name) {
      throw new KeywardenError('KW_VALIDATION', { message: `This setup link is for the user "${user.name}".`, param: 'name' });
    }
    assertPasswordPolicy(input.password, name);
    const passwordHash = await hashPassword(input.password);
    // Checked and used in one statement: of two concurrent requests with one token, only one gets here.
    if (!(await auth.store.authTokens.consumeSetupToken(token.hash, auth.now()))) return invalid();
    if (user === null) {
      const id = newUserId();
      const created = { id, name, role: token.role, passwordHash, totpSealed: null, totpPendingSealed: null, totpLastStep: null, createdAt: now, updatedAt: now };
      await auth.audit.withAudit(
        () => auth.store.users.insert(created),
        () => ({ actor: `user:${id}`, action: 'user.created', target: `user:${id}`, after: { name, role: token.role, via: 'setup link' } }),
      );
      user = created;
    } else {
      const target = user;
      user = await auth.audit.withAudit(
        () => auth.store.users.update(target.id, { passwordHash }, now),
        () => ({ actor: `user:${target.id}`, action: 'user.setup_completed', target: `user:${target.id}` }),
      );
      if (!user) return invalid();
    }
    return c.json(await afterPassword(c, auth, user, facts));
  });

  app.post('/auth/logout', async (c) => {
    const current = await requireSession(c, auth, ['mfa_required', 'mfa_enrollment_required', 'signed_in']);
    await auth.store.sessions.revoke(current.record.idHash, auth.now());
    clearSessionCookie(c, current.facts.https);
    await auth.audit.append({ actor: `user:${current.user.id}`, action: 'user.signed_out', target: `user:${current.user.id}` });
    return c.json({ state: 'anonymous' });
  });

  app.post('/auth/logout-all', async (c) => {
    const current = await requireSession(c, auth, ['signed_in']);
    const revoked = await auth.store.sessions.revokeAllForUser(current.user.id, auth.now());
    clearSessionCookie(c, current.facts.https);
    await auth.audit.append({ actor: `user:${current.user.id}`, action: 'user.signed_out_everywhere', target: `user:${current.user.id}`, after: { sessions: revoked } });
    return c.json({ state: 'anonymous', revoked });
  });

  app.get('/auth/sessions', async (c) => {
    const current = await requireSession(c, auth, ['signed_in']);
    const now = auth.now();
    const live = (await auth.store.sessions.listByUser(current.user.id)).filter((s) => now < auth.sessions.endsAt(s));
    return c.json({
      object: 'list',
      data: live.map((s) => ({
        id: sessionPublicId(s.idHash),
        created_at: new Date(s.createdAt).toISOString(),
        last_seen_at: new Date(s.lastSeenAt).toISOString(),
        expires_at: new Date(auth.sessions.endsAt(s)).toISOString(),
        ip: s.ip,
        user_agent: s.userAgent,
        state: s.state,
        current: s.idHash === current.record.idHash,
      })),
    });
  });

  app.delete('/auth/sessions/:id', async (c) => {
    const current = await requireSession(c, auth, ['signed_in']);
    const id = c.req.param('id');
    const target = (await auth.store.sessions.listByUser(current.user.id)).find((s) => sessionPublicId(s.idHash) === id);
    if (!target || id.length !== 16) throw new KeywardenError('KW_NOT_FOUND', { message: 'No such session.' });
    await auth.store.sessions.revoke(target.idHash, auth.now());
    if (target.idHash === current.record.idHash) clearSessionCookie(c, current.facts.https);
    await auth.audit.append({ actor: `user:${current.user.id}`, action: 'user.session_revoked', target: `user:${current.user.id}`, after: { session: id } });
    return c.json({ id, revoked: true });
  });
}
