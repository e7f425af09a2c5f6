import type { PasskeyRecord, UserPatch, UserRecord, UserRepository } from '../types.js';
import type { SqliteDatabase } from './database.js';
import { toJson } from './json-column.js';
import type { UserRow, PasskeyRow } from '../rows/user-rows.js';
import { userFromRow, passkeyFromRow } from '../rows/user-rows.js';

const PATCH_COLUMNS: Record<keyof UserPatch, string> = {
  role: 'role',
  passwordHash: 'password_hash',
  totpSealed: 'totp_sealed',
  totpPendingSealed: 'totp_pending_sealed',
  totpLastStep: 'totp_last_step',
};

export class SqliteUserRepository implements UserRepository {
  private readonly stmts;

  constructor(private readonly db: SqliteDatabase) {
    this.stmts = {
      insert: db.prepare(
        `INSERT INTO users (id, name, role, password_hash, totp_sealed, totp_pending_sealed, totp_last_step, created_at, updated_at)
         VALUES (@id, @name, @role, @passwordHash, @totpSealed, @totpPendingSealed, @totpLastStep, @createdAt, @updatedAt)`,
      ),
      byId: db.prepare<[string], UserRow>('SELECT * FROM users WHERE id = ?'),
      byName: db.prepare<[string], UserRow>('SELECT * FROM users WHERE name = ?'),
      list: db.prepare<[], UserRow>('SELECT * FROM users ORDER BY created_at, id'),
      count: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM users'),
      claimStep: db.prepare<[number, string, number]>('UPDATE users SET totp_last_step = ? WHERE id = ? AND (totp_last_step IS NULL OR totp_last_step < ?)'),
      deleteCodes: db.prepare<[string]>('DELETE FROM user_recovery_codes WHERE user_id = ?'),
      insertCode: db.prepare<[string, string, number]>('INSERT INTO user_recovery_codes (user_id, code_hash, created_at, used_at) VALUES (?, ?, ?, NULL)'),
      useCode: db.prepare<[number, string, string]>('UPDATE user_recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL'),
      unusedCodes: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM user_recovery_codes WHERE user_id = ? AND used_at IS NULL'),
      insertPasskey: db.prepare(
        `INSERT INTO user_passkeys (id, user_id, public_key, counter, transports, name, created_at, last_used_at)
         VALUES (@id, @userId, @publicKey, @counter, @transports, @name, @createdAt, @lastUsedAt)`,
      ),
      passkey: db.prepare<[string], PasskeyRow>('SELECT * FROM user_passkeys WHERE id = ?'),
      passkeys: db.prepare<[string], PasskeyRow>('SELECT * FROM user_passkeys WHERE user_id = ? ORDER BY created_at, id'),
      advance: db.prepare<[number, number, string, number]>('UPDATE user_passkeys SET counter = ?, last_used_at = ? WHERE id = ? AND counter = ?'),
      deletePasskeys: db.prepare<[string]>('DELETE FROM user_passkeys WHERE user_id = ?'),
      deletePasskey: db.prepare<[string, string]>('DELETE FROM user_passkeys WHERE user_id = ? AND id = ?'),
      deleteSessions: db.prepare<[string]>('DELETE FROM user_sessions WHERE user_id = ?'),
      deleteUser: db.prepare<[string]>('DELETE FROM users WHERE id = ?'),
      resetTotp: db.prepare<[number, string]>('UPDATE users SET totp_sealed = NULL, totp_pending_sealed = NULL, updated_at = ? WHERE id = ?'),
    };
  }

  insert(record: UserRecord): Promise<void> {
    this.stmts.insert.run(record);
    return Promise.resolve();
  }

  get(id: string): Promise<UserRecord | null> {
    const row = this.stmts.byId.get(id);
    return Promise.resolve(row ? userFromRow(row) : null);
  }

  getByName(name: string): Promise<UserRecord | null> {
    const row = this.stmts.byName.get(name);
    return Promise.resolve(row ? userFromRow(row) : null);
  }

  list(): Promise<UserRecord[]> {
    return Promise.resolve(this.stmts.list.all().map(userFromRow));
  }

  count(): Promise<number> {
    return Promise.resolve(this.stmts.count.get()?.n ?? 0);
  }

  update(id: string, patch: UserPatch, now: number): Promise<UserRecord | null> {
    const entries = Object.entries(patch).filter(([, value]) => value !== undefined) as Array<[keyof UserPatch, unknown]>;
    if (entries.length > 0) {
      const sets = entries.map(([field]) => `${PATCH_COLUMNS[field]} = ?`).join(', ');
      this.db.prepare(`UPDATE users SET ${sets}, updated_at = ? WHERE id = ?`).run(...entries.map(([, value]) => value), now, id);
    }
    return this.get(id);
  }

  remove(id: string): Promise<boolean> {
    const removed = this.db.transaction(() => {
      this.stmts.deleteCodes.run(id);
      this.stmts.deletePasskeys.run(id);
      this.stmts.deleteSessions.run(id);
      return this.stmts.deleteUser.run(id).changes > 0;
    })();
    return Promise.resolve(removed);
  }

  claimTotpStep(id: string, step: number): Promise<boolean> {
    return Promise.resolve(this.stmts.claimStep.run(step, id, step).changes === 1);
  }

  replaceRecoveryCodes(userId: string, hashes: readonly string[], now: number): Promise<void> {
    this.db.transaction(() => {
      this.stmts.deleteCodes.run(userId);
      for (const hash of hashes) this.stmts.insertCode.run(userId, hash, now);
    })();
    return Promise.resolve();
  }

  useRecoveryCode(userId: string, hash: string, now: number): Promise<boolean> {
    return Promise.resolve(this.stmts.useCode.run(now, userId, hash).changes === 1);
  }

  unusedRecoveryCodes(userId: string): Promise<number> {
    return Promise.resolve(this.stmts.unusedCodes.get(userId)?.n ?? 0);
  }

  insertPasskey(record: PasskeyRecord): Promise<void> {
    this.stmts.insertPasskey.run({ ...record, transports: toJson(record.transports) });
    return Promise.resolve();
  }

  getPasskey(id: string): Promise<PasskeyRecord | null> {
    const row = this.stmts.passkey.get(id);
    return Promise.resolve(row ? passkeyFromRow(row) : null);
  }

  listPasskeys(userId: string): Promise<PasskeyRecord[]> {
    return Promise.resolve(this.stmts.passkeys.all(userId).map(passkeyFromRow));
  }

  advancePasskeyCounter(id: string, expected: number, next: number, now: number): Promise<boolean> {
    return Promise.resolve(this.stmts.advance.run(next, now, id, expected).changes === 1);
  }

  removePasskey(userId: string, id: string): Promise<boolean> {
    return Promise.resolve(this.stmts.deletePasskey.run(userId, id).changes === 1);
  }

  resetMfa(userId: string, now: number): Promise<void> {
    this.db.transaction(() => {
      this.stmts.resetTotp.run(now, userId);
      this.stmts.deletePasskeys.run(userId);
      this.stmts.deleteCodes.run(userId);
    })();
    return Promise.resolve();
  }
}
