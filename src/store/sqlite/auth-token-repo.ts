import type { AdminRole, AuthTokenRepository, ChallengePurpose, SetupTokenRecord, WebAuthnChallengeRecord } from '../types.js';
import type { SqliteDatabase } from './database.js';
import type { SetupRow, ChallengeRow } from '../rows/auth-token-rows.js';

const ROLES: readonly string[] = ['owner', 'admin', 'viewer'];

export class SqliteAuthTokenRepository implements AuthTokenRepository {
  private readonly stmts;

  constructor(private readonly db: SqliteDatabase) {
    this.stmts = {
      insertSetup: db.prepare(
        'INSERT INTO setup_tokens (hash, user_id, role, created_at, expires_at, used_at) VALUES (@hash, @userId, @role, @createdAt, @expiresAt, @usedAt)',
      ),
      getSetup: db.prepare<[string], SetupRow>('SELECT * FROM setup_tokens WHERE hash = ?'),
      consumeSetup: db.prepare<[number, string, number]>('UPDATE setup_tokens SET used_at = ? WHERE hash = ? AND used_at IS NULL AND expires_at > ?'),
      insertChallenge: db.prepare(
        'INSERT INTO webauthn_challenges (challenge, purpose, session_id_hash, user_id, expires_at) VALUES (@challenge, @purpose, @sessionIdHash, @userId, @expiresAt)',
      ),
      getChallenge: db.prepare<[string], ChallengeRow>('SELECT * FROM webauthn_challenges WHERE challenge = ?'),
      deleteChallenge: db.prepare<[string]>('DELETE FROM webauthn_challenges WHERE challenge = ?'),
      pruneChallenges: db.prepare<[number]>('DELETE FROM webauthn_challenges WHERE expires_at < ?'),
    };
  }

  insertSetupToken(record: SetupTokenRecord): Promise<void> {
    this.stmts.insertSetup.run(record);
    return Promise.resolve();
  }

  getSetupToken(hash: string): Promise<SetupTokenRecord | null> {
    const row = this.stmts.getSetup.get(hash);
    if (!row) return Promise.resolve(null);
    return Promise.resolve({
      hash: row.hash,
      userId: row.user_id,
      role: (ROLES.includes(row.role) ? row.role : 'viewer') as AdminRole,
      createdAt: row.created_at,
      expiresAt: row.expires_at,
      usedAt: row.used_at,
    });
  }

  consumeSetupToken(hash: string, now: number): Promise<boolean> {
    return Promise.resolve(this.stmts.consumeSetup.run(now, hash, now).changes === 1);
  }

  insertChallenge(record: WebAuthnChallengeRecord): Promise<void> {
    this.stmts.pruneChallenges.run(record.expiresAt - 3_600_000);
    this.stmts.insertChallenge.run(record);
    return Promise.resolve();
  }

  consumeChallenge(challenge: string, now: number): Promise<WebAuthnChallengeRecord | null> {
    const row = this.db.transaction(() => {
      const found = this.stmts.getChallenge.get(challenge);
      if (found) this.stmts.deleteChallenge.run(challenge);
      return found;
    })();
    if (!row || row.expires_at <= now) return Promise.resolve(null);
    return Promise.resolve({
      challenge: row.challenge,
      purpose: row.purpose as ChallengePurpose,
      sessionIdHash: row.session_id_hash,
      userId: row.user_id,
      expiresAt: row.expires_at,
    });
  }
}
