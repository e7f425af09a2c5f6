import type { Schema } from 'hono';
import { z } from 'zod';
import { adminTokenView, type AdminTokenService } from '../admin-tokens.js';
import { KeywardenError } from '../../errors/index.js';
import { adminActor, pathParam, type AdminApp } from './route-helpers.js';
import { formatIssues } from '../../config/index.js';
import { parseTimeOrDuration } from '../../util/duration.js';

/** Bodies are small: a name, a role and an expiry. */
const MAX_BODY_BYTES = 16_384;

const createTokenSchema = z
  .object({
    name: z.string().trim().min(1).max(100),
    role: z.enum(['owner', 'admin', 'viewer']),
    /** A duration from now (`30d`) or an ISO-8601 date, as for virtual keys. */
    expires: z.string().max(64).optional(),
    /** Limits the token to one project (id or name): it sees and manages only that project's keys and usage. */
    project: z.string().min(1).max(200).optional(),
  })
  .strict();

/**
 * Admin tokens under the admin API (owner only, enforced by admin-roles.ts): GET /admin-tokens lists them without
 * secrets, POST /admin-tokens issues one (the secret is in that response only), POST /admin-tokens/:id/revoke
 * revokes one from the next request on. Issuing and revoking are audited.
 */
export function registerAdminTokenRoutes<S extends Schema, B extends string>(
  app: AdminApp<S, B>,
  deps: { adminTokens: AdminTokenService; now: () => number; resolveProject: (ref: string) => Promise<string> },
): void {
  app.get('/admin-tokens', async (c) => {
    const now = deps.now();
    return c.json({ object: 'list', data: (await deps.adminTokens.list()).map((t) => adminTokenView(t, now)) });
  });

  app.post('/admin-tokens', async (c) => {
    const text = await c.req.text();
    if (text.length > MAX_BODY_BYTES) throw new KeywardenError('KW_BODY_TOO_LARGE');
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      throw new KeywardenError('KW_INVALID_JSON');
    }
    const parsed = createTokenSchema.safeParse(raw);
    if (!parsed.success) throw new KeywardenError('KW_VALIDATION', { message: `Invalid input:\n${formatIssues(parsed.error.issues)}` });
    const input = parsed.data;
    const now = deps.now();
    const expiresAt = input.expires === undefined ? null : parseTimeOrDuration(input.expires, now);
    if (expiresAt === null && input.expires !== undefined) {
      throw new KeywardenError('KW_VALIDATION', { message: 'expires: expected a duration such as 30d or an ISO-8601 date', param: 'expires' });
    }
    if (expiresAt !== null && expiresAt <= now) throw new KeywardenError('KW_VALIDATION', { message: 'expires: must be in the future', param: 'expires' });
    const projectId = input.project === undefined ? null : await deps.adminTokens.projectOrInvalid(input.project, deps.resolveProject);
    const issued = await deps.adminTokens.issue(input.name, adminActor(c), undefined, { role: input.role, expiresAt, projectId });
    return c.json({ ...adminTokenView(issued.record, now), token: issued.token }, 201);
  });

  app.post('/admin-tokens/:id/revoke', async (c) => {
    const record = await deps.adminTokens.revoke(pathParam(c, 'id'), adminActor(c));
    return c.json(adminTokenView(record, deps.now()));
  });
}
