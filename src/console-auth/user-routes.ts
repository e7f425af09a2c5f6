import { z } from 'zod';
import { adminActor, parseJsonBody, pathParam, type AdminApp } from '../admin/routes/route-helpers.js';
import { KeywardenError } from '../errors/index.js';
import type { UserRecord } from '../store/index.js';
import type { ConsoleAuth } from './console-auth.js';
import { assertPasswordPolicy, hashPassword } from './password-hash.js';
import { issueSetupLink } from './setup-links.js';
import { newUserId, USER_NAME } from './user-names.js';

const ROLE = z.enum(['owner', 'admin', 'viewer']);
const createUserSchema = z.object({ name: USER_NAME, role: ROLE.default('viewer'), password: z.string().max(4096).optional() }).strict();
const updateUserSchema = z.object({ role: ROLE }).strict();

/**
 * /admin/v1/users (owner only; a console session also needs a step-up): list, create (with a one-time setup
 * link, or a password for `users add --password-stdin`), change role, remove, reset MFA.
 */
export function registerUserRoutes(app: AdminApp, auth: ConsoleAuth): void {
  const find = async (ref: string): Promise<UserRecord> => {
    const user = (await auth.store.users.get(ref)) ?? (await auth.store.users.getByName(ref));
    if (!user) throw new KeywardenError('KW_NOT_FOUND', { message: `No user "${ref}".` });
    return user;
  };
  /** The last owner cannot be demoted or removed: nobody could manage users any more. */
  const assertNotLastOwner = async (user: UserRecord): Promise<void> => {
    if (user.role !== 'owner') return;
    const owners = (await auth.store.users.list()).filter((u) => u.role === 'owner');
    if (owners.length <= 1) throw new KeywardenError('KW_CONFLICT', { message: 'This is the last owner; make another user owner first.' });
  };

  app.get('/users', async (c) => c.json({ object: 'list', data: await Promise.all((await auth.store.users.list()).map((u) => auth.userView(u))) }));

  app.post('/users', async (c) => {
    const input = await parseJsonBody(c, createUserSchema);
    if (await auth.store.users.getByName(input.name)) throw new KeywardenError('KW_CONFLICT', { message: `A user named "${input.name}" already exists.` });
    if (input.password !== undefined) assertPasswordPolicy(input.password, input.name);
    const now = auth.now();
    const user: UserRecord = {
      id: newUserId(),
      name: input.name,
      role: input.role,
      passwordHash: input.password === undefined ? null : await hashPassword(input.password),
      totpSealed: null,
      totpPendingSealed: null,
      totpLastStep: null,
      createdAt: now,
      updatedAt: now,
    };
    await auth.audit.withAudit(
      () => auth.store.users.insert(user),
      () => ({ actor: adminActor(c), action: 'user.created', target: `user:${user.id}`, after: { name: user.name, role: user.role } }),
    );
    const link = user.passwordHash === null ? await issueSetupLink(auth.store, now, auth.publicUrl ?? auth.facts(c).origin, user.id, user.role) : null;
    c.header('cache-control', 'no-store');
    return c.json({ ...(await auth.userView(user)), ...(link ? { setup_url: link.url, setup_expires_at: new Date(link.expiresAt).toISOString() } : {}) }, 201);
  });

  app.patch('/users/:id', async (c) => {
    const input = await parseJsonBody(c, updateUserSchema);
    const user = await find(pathParam(c, 'id'));
    if (input.role !== 'owner') await assertNotLastOwner(user);
    const updated = await auth.audit.withAudit(
      () => auth.store.users.update(user.id, { role: input.role }, auth.now()),
      () => ({ actor: adminActor(c), action: 'user.role_changed', target: `user:${user.id}`, before: { role: user.role }, after: { role: input.role } }),
    );
    if (!updated) throw new KeywardenError('KW_NOT_FOUND');
    return c.json(await auth.userView(updated));
  });

  app.delete('/users/:id', async (c) => {
    const user = await find(pathParam(c, 'id'));
    await assertNotLastOwner(user);
    await auth.audit.withAudit(
      () => auth.store.users.remove(user.id),
      () => ({ actor: adminActor(c), action: 'user.removed', target: `user:${user.id}`, before: { name: user.name, role: user.role } }),
    );
    return c.json({ id: user.id, removed: true });
  });

  app.post('/users/:id/reset-mfa', async (c) => {
    const user = await find(pathParam(c, 'id'));
    const now = auth.now();
    await auth.audit.withAudit(
      async () => {
        await auth.store.users.resetMfa(user.id, now);
        // Every session ends: the next sign-in must enrol a new factor.
        await auth.store.sessions.revokeAllForUser(user.id, now);
      },
      () => ({ actor: adminActor(c), action: 'user.mfa_reset', target: `user:${user.id}` }),
    );
    await auth.guard.unlock(user.id);
    const refreshed = await find(user.id);
    return c.json(await auth.userView(refreshed));
  });
}
