import type { PasskeyRecord, UserPatch, UserRecord, UserRepository } from '../types.js';
import { toJson } from '../sqlite/json-column.js';
import type { PgDatabase, PgValue } from './pg-database.js';
import type { UserRow, PasskeyRow } from '../rows/user-rows.js';
import { userFromRow, passkeyFromRow } from '../rows/user-rows.js';

/** Whitelisted columns: field names never reach the statement text from input. */
const PATCH_COLUMNS: Record<keyof UserPatch, string> = {
  role: 'role',
  passwordHash: 'password_hash',
  totpSealed: 'totp_sealed',
  totpPendingSealed: 'totp_pending_sealed',
  totpLastStep: 'totp_last_step',
};

/** Console users in PostgreSQL. Single-use steps (TOTP step, recovery code, passkey counter) are conditional UPDATEs, so two replicas cannot both accept one. */
export class PgUserRepository implements UserRepository {
  constructor(private readonly db: PgDatabase) {}

  async insert(r: UserRecord): Promise<void> {
    await this.db.query(
      `INSERT INTO users (id, name, role, password_hash, totp_sealed, totp_pending_sealed, totp_last_step, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [r.id, r.name, r.role, r.passwordHash, r.totpSealed, r.totpPendingSealed, r.totpLastStep, r.createdAt, r.updatedAt],
    );
  }

  async get(id: string): Promise<UserRecord | null> {
    const row = await this.db.one<UserRow>('SELECT * FROM users WHERE id = $1', [id]);
    return row ? userFromRow(row) : null;
  }

  async getByName(name: string): Promise<UserRecord | null> {
    const row = await this.db.one<UserRow>('SELECT * FROM users WHERE name = $1', [name]);
    return row ? userFromRow(row) : null;
  }

  async list(): Promise<UserRecord[]> {
    return (await this.db.rows<UserRow>('SELECT * FROM users ORDER BY created_at, id')).map(userFromRow);
  }

  async count(): Promise<number> {
    return (await this.db.one<{ n: number }>('SELECT COUNT(*) AS n FROM users'))?.n ?? 0;
  }

  async update(id: string, patch: UserPatch, now: number): Promise<UserRecord | null> {
    const entries = Object.entries(patch).filter(([, value]) => value !== undefined) as Array<[keyof UserPatch, PgValue]>;
    if (entries.length > 0) {
      const sets = entries.map(([field], i) => `${PATCH_COLUMNS[field]} = $${i + 1}`).join(', ');
      await this.db.query(`UPDATE users SET ${sets}, updated_at = $${entries.length + 1} WHERE id = $${entries.length + 2}`, [...entries.map(([, value]) => value), now, id]);
    }
    return this.get(id);
  }

  remove(id: string): Promise<boolean> {
    return this.db.transaction(async () => {
      await this.db.query('DELETE FROM user_recovery_codes WHERE user_id = $1', [id]);
      await this.db.query('DELETE FROM user_passkeys WHERE user_id = $1', [id]);
      await this.db.query('DELETE FROM user_sessions WHERE user_id = $1', [id]);
      return ((await this.db.query('DELETE FROM users WHERE id = $1', [id])).rowCount ?? 0) > 0;
    });
  }

  async claimTotpStep(id: string, step: number): Promise<boolean> {
    const result = await this.db.query('UPDATE users SET totp_last_step = $1 WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)', [step, id]);
    return result.rowCount === 1;
  }

  async replaceRecoveryCodes(userId: string, hashes: readonly string[], now: number): Promise<void> {
    await this.db.transaction(async () => {
      await this.db.query('DELETE FROM user_recovery_codes WHERE user_id = $1', [userId]);
      if (hashes.length > 0) {
        await this.db.query(
          'INSERT INTO user_recovery_codes (user_id, code_hash, created_at, used_at) SELECT $1, h, $3, NULL FROM unnest($2::text[]) AS h',
          [userId, hashes, now],
        );
      }
    });
  }

  async useRecoveryCode(userId: string, hash: string, now: number): Promise<boolean> {
    const result = await this.db.query('UPDATE user_recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL', [now, userId, hash]);
    return result.rowCount === 1;
  }

  async unusedRecoveryCodes(userId: string): Promise<number> {
    return (await this.db.one<{ n: number }>('SELECT COUNT(*) AS n FROM user_recovery_codes WHERE user_id = $1 AND used_at IS NULL', [userId]))?.n ?? 0;
  }

  async insertPasskey(r: PasskeyRecord): Promise<void> {
    await this.db.query(
      `INSERT INTO user_passkeys (id, user_id, public_key, counter, transports, name, created_at, last_used_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [r.id, r.userId, r.publicKey, r.counter, toJson(r.transports), r.name, r.createdAt, r.lastUsedAt],
    );
  }

  async getPasskey(id: string): Promise<PasskeyRecord | null> {
    const row = await this.db.one<PasskeyRow>('SELECT * FROM user_passkeys WHERE id = $1', [id]);
    return row ? passkeyFromRow(row) : null;
  }

  async listPasskeys(userId: string): Promise<PasskeyRecord[]> {
    return (await this.db.rows<PasskeyRow>('SELECT * FROM user_passkeys WHERE user_id = $1 ORDER BY created_at, id', [userId])).map(passkeyFromRow);
  }

  async advancePasskeyCounter(id: string, expected: number, next: number, now: number): Promise<boolean> {
    const result = await this.db.query('UPDATE user_passkeys SET counter = $1, last_used_at = $2 WHERE id = $3 AND counter = $4', [next, now, id, expected]);
    return result.rowCount === 1;
  }

  async removePasskey(userId: string, id: string): Promise<boolean> {
    return (await this.db.query('DELETE FROM user_passkeys WHERE user_id = $1 AND id = $2', [userId, id])).rowCount === 1;
  }

  async resetMfa(userId: string, now: number): Promise<void> {
    await this.db.transaction(async () => {
      await this.db.query('UPDATE users SET totp_sealed = NULL, totp_pending_sealed = NULL, updated_at = $1 WHERE id = $2', [now, userId]);
      await this.db.query('DELETE FROM user_passkeys WHERE user_id = $1', [userId]);
      await this.db.query('DELETE FROM user_recovery_codes WHERE user_id = $1', [userId]);
    });
  }
}
