/**
 * Console accounts: users, their second factors, server-side sessions, failed-attempt counters, setup tokens and
 * WebAuthn challenges. Plain records and async repositories, so a PostgreSQL store can implement the same.
 */
import type { AdminRole } from './types.js';

export interface UserRecord {
  id: string;
  name: string;
  role: AdminRole;
  /** scrypt hash (see console-auth/password-hash.ts); null until the user completes setup. */
  passwordHash: string | null;
  /** The confirmed TOTP seed, sealed by the vault; never plaintext. */
  totpSealed: string | null;
  /** A seed shown at enrolment but not yet confirmed with a code. */
  totpPendingSealed: string | null;
  /** The last TOTP time step accepted: a code for this step or an earlier one is a replay. */
  totpLastStep: number | null;
  createdAt: number;
  updatedAt: number;
}

export type UserPatch = Partial<Pick<UserRecord, 'role' | 'passwordHash' | 'totpSealed' | 'totpPendingSealed' | 'totpLastStep'>>;

export interface PasskeyRecord {
  /** The credential id, base64url. */
  id: string;
  userId: string;
  /** COSE public key, base64url. */
  publicKey: string;
  counter: number;
  transports: string[];
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
}

export interface UserRepository {
  insert(record: UserRecord): Promise<void>;
  get(id: string): Promise<UserRecord | null>;
  getByName(name: string): Promise<UserRecord | null>;
  list(): Promise<UserRecord[]>;
  count(): Promise<number>;
  update(id: string, patch: UserPatch, now: number): Promise<UserRecord | null>;
  /** Removes the user with their passkeys, recovery codes and sessions. */
  remove(id: string): Promise<boolean>;
  /** Accepts TOTP step `step` only when it is later than the last accepted one (atomic: replicas cannot both win). */
  claimTotpStep(id: string, step: number): Promise<boolean>;
  replaceRecoveryCodes(userId: string, hashes: readonly string[], now: number): Promise<void>;
  /** Marks one unused code used; false when there is no such unused code. Atomic, so a code works once. */
  useRecoveryCode(userId: string, hash: string, now: number): Promise<boolean>;
  unusedRecoveryCodes(userId: string): Promise<number>;
  insertPasskey(record: PasskeyRecord): Promise<void>;
  getPasskey(id: string): Promise<PasskeyRecord | null>;
  listPasskeys(userId: string): Promise<PasskeyRecord[]>;
  /** Moves the signature counter from `expected` to `next`; false when another sign-in moved it first. */
  advancePasskeyCounter(id: string, expected: number, next: number, now: number): Promise<boolean>;
  removePasskey(userId: string, id: string): Promise<boolean>;
  /** Drops every second factor of a user (TOTP, passkeys, recovery codes): `users reset-mfa`. */
  resetMfa(userId: string, now: number): Promise<void>;
}

export type SessionState = 'mfa_required' | 'mfa_enrollment_required' | 'signed_in';

export interface SessionRecord {
  /** SHA-256 (hex) of the session id; the id itself is only in the client's cookie. */
  idHash: string;
  userId: string;
  state: SessionState;
  csrfToken: string;
  createdAt: number;
  lastSeenAt: number;
  /** Absolute end of the session. */
  expiresAt: number;
  /** Until when sensitive actions are allowed without a fresh second factor. */
  stepUpUntil: number | null;
  ip: string;
  userAgent: string;
  revokedAt: number | null;
}

export type SessionPatch = Partial<Pick<SessionRecord, 'state' | 'stepUpUntil' | 'lastSeenAt'>>;

export interface SessionRepository {
  insert(record: SessionRecord): Promise<void>;
  get(idHash: string): Promise<SessionRecord | null>;
  listByUser(userId: string): Promise<SessionRecord[]>;
  update(idHash: string, patch: SessionPatch): Promise<void>;
  /** Swaps a session for a new id in one step (rotation at sign-in and privilege change). */
  replace(oldIdHash: string, next: SessionRecord): Promise<void>;
  revoke(idHash: string, now: number): Promise<boolean>;
  /** Revokes every live session of a user except `keep`; returns how many. */
  revokeAllForUser(userId: string, now: number, keep?: string): Promise<number>;
  /** Deletes sessions that ended before `before`. */
  prune(before: number): Promise<void>;
}

export type AuthAttemptKind = 'password' | 'second_factor';

export interface AuthAttemptRepository {
  /** Records one failure of `subject` (`user:<id>` or `ip:<addr>`). */
  recordFailure(subject: string, kind: AuthAttemptKind, ts: number): Promise<void>;
  failuresSince(subject: string, kind: AuthAttemptKind | null, since: number): Promise<number>;
  clearFailures(subject: string, kind: AuthAttemptKind): Promise<void>;
  lock(subject: string, until: number): Promise<void>;
  lockedUntil(subject: string, now: number): Promise<number | null>;
  unlock(subject: string): Promise<void>;
  prune(before: number): Promise<void>;
}

export interface SetupTokenRecord {
  /** SHA-256 (hex) of the token. */
  hash: string;
  /** The user the link was issued for; null for the first owner (created by the setup itself). */
  userId: string | null;
  role: AdminRole;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
}

export type ChallengePurpose = 'register' | 'login' | 'second_factor' | 'step_up';

export interface WebAuthnChallengeRecord {
  challenge: string;
  purpose: ChallengePurpose;
  /** The session the ceremony belongs to (hash); null for passwordless sign-in. */
  sessionIdHash: string | null;
  userId: string | null;
  expiresAt: number;
}

export interface AuthTokenRepository {
  insertSetupToken(record: SetupTokenRecord): Promise<void>;
  getSetupToken(hash: string): Promise<SetupTokenRecord | null>;
  /** Marks the token used if it is unused and unexpired; true when this call used it (single use under races). */
  consumeSetupToken(hash: string, now: number): Promise<boolean>;
  insertChallenge(record: WebAuthnChallengeRecord): Promise<void>;
  /** Deletes and returns the challenge when it exists and has not expired: each challenge is answered once. */
  consumeChallenge(challenge: string, now: number): Promise<WebAuthnChallengeRecord | null>;
}
