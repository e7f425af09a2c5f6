import { createHmac } from 'node:crypto';
import { randomBase62 } from '../keys/index.js';
import { ADMIN_TOKEN_PREFIX, generateAdminTokenSecret } from '../keys/admin-token-format.js';
import type { AuditLog } from '../audit/index.js';
import { KeywardenError } from '../errors/index.js';
import type { AdminRole, AdminTokenRecord, Store } from '../store/index.js';

export { ADMIN_TOKEN_PREFIX };

export function generateAdminToken(): string {
  return generateAdminTokenSecret();
}

/** Admin tokens are stored as HMACs under the vault pepper, like virtual keys. */
export function hashAdminToken(token: string, pepper: Buffer): string {
  return createHmac('sha256', pepper).update(`admin:${token}`).digest('hex');
}

/** last_used_at is written at most this often per token: the admin API should not fsync on every read. */
const TOUCH_INTERVAL_MS = 60_000;

export interface IssueOptions {
  role?: AdminRole;
  expiresAt?: number | null;
  /** Limits the token to one project's keys and usage. */
  projectId?: string | null;
}

/** The public shape of a token: never the secret or its hash, only prefix + last 4. */
export function adminTokenView(record: AdminTokenRecord, now: number) {
  const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
  const status = record.revokedAt !== null ? 'revoked' : record.expiresAt !== null && record.expiresAt <= now ? 'expired' : 'active';
  return {
    id: record.id,
    object: 'admin_token' as const,
    name: record.name,
    role: record.role,
    project_id: record.projectId ?? null,
    display: `${ADMIN_TOKEN_PREFIX}…${record.last4}`,
    status,
    created_at: iso(record.createdAt),
    expires_at: iso(record.expiresAt),
    last_used_at: iso(record.lastUsedAt),
    revoked_at: iso(record.revokedAt),
  };
}

export class AdminTokenService {
  constructor(
    private readonly store: Store,
    private readonly pepper: Buffer,
    private readonly now: () => number,
    private readonly audit: AuditLog,
  ) {}

  /** Stores a token's hash; the token itself is returned to the caller once and never kept. */
  async issue(
    name: string,
    actor: string,
    token: string = generateAdminToken(),
    options: IssueOptions = {},
  ): Promise<{ record: AdminTokenRecord; token: string }> {
    const now = this.now();
    const record: AdminTokenRecord = {
      id: `adm_${randomBase62(12)}`,
      name,
      hash: hashAdminToken(token, this.pepper),
      last4: token.slice(-4),
      role: options.role ?? 'owner',
      createdAt: now,
      expiresAt: options.expiresAt ?? null,
      lastUsedAt: null,
      revokedAt: null,
      projectId: options.projectId ?? null,
    };
    await this.audit.withAudit(
      () => this.store.adminTokens.insert(record),
      () => ({
        actor,
        action: 'admin_token.issued',
        target: `admin_token:${record.id}`,
        after: { id: record.id, name, role: record.role, projectId: record.projectId, expiresAt: record.expiresAt, display: `${ADMIN_TOKEN_PREFIX}…${record.last4}` },
      }),
    );
    return { record, token };
  }

  /** Registers a token supplied by the operator (KEYWARDEN_ADMIN_TOKEN) unless it is already known. */
  async ensure(name: string, token: string): Promise<AdminTokenRecord> {
    const existing = await this.store.adminTokens.findByHash(hashAdminToken(token, this.pepper));
    return existing ?? (await this.issue(name, 'system:env', token, { role: 'owner' })).record;
  }

  /** The token's record when it is usable now: not revoked, not expired. Revocation counts from the next request. */
  async verify(token: string): Promise<AdminTokenRecord | null> {
    const record = await this.store.adminTokens.findByHash(hashAdminToken(token, this.pepper));
    const now = this.now();
    if (!record || record.revokedAt !== null || (record.expiresAt !== null && record.expiresAt <= now)) return null;
    if (record.lastUsedAt === null || now - record.lastUsedAt >= TOUCH_INTERVAL_MS) await this.store.adminTokens.touch(record.id, now);
    return record;
  }

  list(): Promise<AdminTokenRecord[]> {
    return this.store.adminTokens.list();
  }

  async revoke(id: string, actor: string): Promise<AdminTokenRecord> {
    const before = await this.store.adminTokens.get(id);
    if (!before) throw new KeywardenError('KW_NOT_FOUND', { message: `No admin token ${id}.` });
    if (before.revokedAt !== null) return before;
    return this.audit.withAudit(
      async () => (await this.store.adminTokens.revoke(id, this.now())) as AdminTokenRecord,
      (after) => ({
        actor,
        action: 'admin_token.revoked',
        target: `admin_token:${id}`,
        before: { name: before.name, role: before.role, display: `${ADMIN_TOKEN_PREFIX}…${before.last4}` },
        after: { revokedAt: after.revokedAt },
      }),
    );
  }

  /** The project id a token is to be limited to; an unknown project is a validation error, not a 404. */
  async projectOrInvalid(ref: string, resolve: (ref: string) => Promise<string>): Promise<string> {
    try {
      return await resolve(ref);
    } catch {
      throw new KeywardenError('KW_VALIDATION', { message: `project: no project with id or name "${ref}".`, param: 'project' });
    }
  }

  count(): Promise<number> {
    return this.store.adminTokens.count();
  }
}
