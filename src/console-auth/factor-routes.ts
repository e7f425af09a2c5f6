import { KeywardenError } from '../errors/index.js';
import type { AdminApp } from '../admin/routes/route-helpers.js';
import type { ConsoleAuth } from './console-auth.js';
import { requireSession, type CurrentSession } from './session-access.js';

/** Removing a factor weakens the account: it needs a fresh step-up, and the last factor cannot go (MFA is required). */
async function assertMayRemove(auth: ConsoleAuth, current: CurrentSession, remaining: number): Promise<void> {
  if (!auth.sessions.hasFreshStepUp(current.record)) throw new KeywardenError('KW_STEP_UP_REQUIRED');
  if (remaining < 1) throw new KeywardenError('KW_CONFLICT', { message: 'This is your last second factor; add another one before removing it.' });
  return Promise.resolve();
}

/** The signed-in user's own factors: list passkeys, remove a passkey, remove TOTP. */
export function registerFactorRoutes(app: AdminApp, auth: ConsoleAuth): void {
  app.get('/auth/passkeys', async (c) => {
    const current = await requireSession(c, auth, ['signed_in']);
    const passkeys = await auth.store.users.listPasskeys(current.user.id);
    const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
    return c.json({ object: 'list', data: passkeys.map((p) => ({ id: p.id, name: p.name, created_at: iso(p.createdAt), last_used_at: iso(p.lastUsedAt) })) });
  });

  app.delete('/auth/passkeys/:id', async (c) => {
    const current = await requireSession(c, auth, ['signed_in']);
    const passkeys = await auth.store.users.listPasskeys(current.user.id);
    const target = passkeys.find((p) => p.id === c.req.param('id'));
    if (!target) throw new KeywardenError('KW_NOT_FOUND', { message: 'No such passkey.' });
    await assertMayRemove(auth, current, passkeys.length - 1 + (current.user.totpSealed === null ? 0 : 1));
    await auth.audit.withAudit(
      () => auth.store.users.removePasskey(current.user.id, target.id),
      () => ({ actor: `user:${current.user.id}`, action: 'user.mfa_removed', target: `user:${current.user.id}`, after: { factor: 'passkey', name: target.name } }),
    );
    return c.json({ id: target.id, removed: true });
  });

  app.delete('/auth/totp', async (c) => {
    const current = await requireSession(c, auth, ['signed_in']);
    if (current.user.totpSealed === null) throw new KeywardenError('KW_NOT_FOUND', { message: 'No authenticator app is enrolled.' });
    await assertMayRemove(auth, current, (await auth.store.users.listPasskeys(current.user.id)).length);
    await auth.audit.withAudit(
      () => auth.store.users.update(current.user.id, { totpSealed: null, totpPendingSealed: null }, auth.now()),
      () => ({ actor: `user:${current.user.id}`, action: 'user.mfa_removed', target: `user:${current.user.id}`, after: { factor: 'totp' } }),
    );
    return c.json({ removed: true });
  });
}
