import type { AdminRole, AuthTokenRepository, ChallengePurpose, SetupTokenRecord, WebAuthnChallengeRecord } from '../types.js';
import type { PgDatabase } from './pg-database.js';
import type { SetupRow, ChallengeRow } from '../rows/auth-token-rows.js';

const ROLES: readonly string[] = ['owner', 'admin', 'viewer'];

/** Setup links and WebAuthn challenges: each is consumed by one conditional statement, so it works once across replicas. */
export class PgAuthTokenRepository implements AuthTokenRepository {
  constructor(private readonly db: PgDatabase) {}

  async insertSetupToken(r: SetupTokenRecord): Promise<void> {
    await this.db.query('INSERT INTO setup_tokens (hash, user_id, role, created_at, expires_at, used_at) VALUES ($1, $2, $3, $4, $5, $6)', [
      r.hash,
      r.userId,
      r.role,
      r.createdAt,
      r.expiresAt,
      r.usedAt,
    ]);
  }

  async getSetupToken(hash: string): Promise<SetupTokenRecord | null> {
    const row = await this.db.one<SetupRow>('SELECT * FROM setup_tokens WHERE hash = $1', [hash]);
    if (!row) return null;
    return {
      hash: row.hash,
      userId: row.user_id,
      role: (ROLES.includes(row.role) ? row.role : 'viewer') as AdminRole,
      createdAt: row.created_at,
      expiresAt: row.expires_at,
      usedAt: row.used_at,
    };
  }

  async consumeSetupToken(hash: string, now: number): Promise<boolean> {
    return (await this.db.query('UPDATE setup_tokens SET used_at = $1 WHERE hash = $2 AND used_at IS NULL AND expires_at > $1', [now, hash])).rowCount === 1;
  }

  async insertChallenge(r: WebAuthnChallengeRecord): Promise<void> {
    await this.db.query('DELETE FROM webauthn_challenges WHERE expires_at < $1', [r.expiresAt - 3_600_000]);
    await this.db.query('INSERT INTO webauthn_challenges (challenge, purpose, session_id_hash, user_id, expires_at) VALUES ($1, $2, $3, $4, $5)', [
      r.challenge,
      r.purpose,
      r.sessionIdHash,
      r.userId,
      r.expiresAt,
    ]);
  }

  /** DELETE … RETURNING: of two replicas answering one challenge at once, exactly one gets it. */
  async consumeChallenge(challenge: string, now: number): Promise<WebAuthnChallengeRecord | null> {
    const row = await this.db.one<ChallengeRow>('DELETE FROM webauthn_challenges WHERE challenge = $1 RETURNING *', [challenge]);
    if (!row || row.expires_at <= now) return null;
    return { challenge: row.challenge, purpose: row.purpose as ChallengePurpose, sessionIdHash: row.session_id_hash, userId: row.user_id, expiresAt: row.expires_at };
  }
}
