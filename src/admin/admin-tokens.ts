import { createHmac } from 'node:crypto';
import { randomBase62 } from '../keys/index.js';
import type { AuditLog } from '../audit/index.js';
import type { AdminTokenRecord, Store } from '../store/index.js';

export const ADMIN_TOKEN_PREFIX = 'kwadm_';

export function generateAdminToken(): string {
  return `${ADMIN_TOKEN_PREFIX}${randomBase62(40)}`;
}

/** Admin tokens are stored as HMACs under the vault pepper, like virtual keys. */
export function hashAdminToken(token: string, pepper: Buffer): string {
  return createHmac('sha256', pepper).update(`admin:${token}`).digest('hex');
}

export class AdminTokenService {
  constructor(
    private readonly store: Store,
    private readonly pepper: Buffer,
    private readonly now: () => number,
    private readonly audit: AuditLog,
  ) {}

  /** Stores a token's hash; the token itself is returned to the caller once and never kept. */
  async issue(name: string, actor: string, token: string = generateAdminToken()): Promise<{ record: AdminTokenRecord; token: string }> {
    const record: AdminTokenRecord = {
      id: `adm_${randomBase62(12)}`,
      name,
      hash: hashAdminToken(token, this.pepper),
      last4: token.slice(-4),
      createdAt: this.now(),
      revokedAt: null,
    };
    await this.audit.withAudit(
      () => this.store.adminTokens.insert(record),
      () => ({ actor, action: 'admin_token.issued', target: `admin_token:${record.id}`, after: { id: record.id, name, display: `${ADMIN_TOKEN_PREFIX}…${record.last4}` } }),
    );
    return { record, token };
  }

  /** Registers a token supplied by the operator (KEYWARDEN_ADMIN_TOKEN) unless it is already known. */
  async ensure(name: string, token: string): Promise<AdminTokenRecord> {
    const existing = await this.store.adminTokens.findByHash(hashAdminToken(token, this.pepper));
    return existing ?? (await this.issue(name, 'system:env', token)).record;
  }

  async verify(token: string): Promise<AdminTokenRecord | null> {
    const record = await this.store.adminTokens.findByHash(hashAdminToken(token, this.pepper));
    return record && record.revokedAt === null ? record : null;
  }

  count(): Promise<number> {
    return this.store.adminTokens.count();
  }
}
