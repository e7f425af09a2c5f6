import type { AuditLog } from '../audit/index.js';
import { KeywardenError } from '../errors/index.js';
import type { AuthAttemptKind, Store } from '../store/index.js';

/** 5 failures of one kind (passwords, or second-factor codes) in 15 minutes lock the account for 15 minutes. */
export const ACCOUNT_FAILURE_LIMIT = 5;
/** 20 failures of any kind from one address in 15 minutes: that address gets 429 until the window moves on. */
export const IP_FAILURE_LIMIT = 20;
export const ATTEMPT_WINDOW_MS = 15 * 60_000;
export const LOCK_MS = 15 * 60_000;

const userSubject = (userId: string): string => `user:${userId}`;
const ipSubject = (ip: string): string => `ip:${ip}`;

/**
 * Failed sign-in bookkeeping, kept in the store so every replica sees the same counts and locks. Checked before
 * any password or code is looked at, so a locked account stays locked even with the right password.
 */
export class AttemptGuard {
  constructor(
    private readonly store: Store,
    private readonly audit: AuditLog,
    private readonly now: () => number,
  ) {}

  async assertIpAllowed(ip: string): Promise<void> {
    const now = this.now();
    const failures = await this.store.authAttempts.failuresSince(ipSubject(ip), null, now - ATTEMPT_WINDOW_MS);
    if (failures >= IP_FAILURE_LIMIT) {
      const retryAfter = Math.ceil(ATTEMPT_WINDOW_MS / 1000);
      throw new KeywardenError('KW_AUTH_RATE_LIMITED', {
        message: `Too many failed sign-in attempts from this address; try again in up to ${Math.ceil(retryAfter / 60)} minutes.`,
        headers: { 'retry-after': String(retryAfter) },
      });
    }
  }

  async assertUnlocked(userId: string): Promise<void> {
    const until = await this.store.authAttempts.lockedUntil(userSubject(userId), this.now());
    if (until !== null) throw lockedError(until, this.now());
  }

  /** Records a failure; locks the account (and says so, with the time) when this failure reaches the limit. */
  async fail(userId: string | null, ip: string, kind: AuthAttemptKind): Promise<void> {
    const now = this.now();
    await this.store.authAttempts.recordFailure(ipSubject(ip), kind, now);
    if (userId === null) return;
    const subject = userSubject(userId);
    await this.store.authAttempts.recordFailure(subject, kind, now);
    const failures = await this.store.authAttempts.failuresSince(subject, kind, now - ATTEMPT_WINDOW_MS);
    if (failures < ACCOUNT_FAILURE_LIMIT) return;
    const until = now + LOCK_MS;
    await this.audit.withAudit(
      () => this.store.authAttempts.lock(subject, until),
      () => ({ actor: `ip:${ip}`, action: 'user.locked', target: subject, after: { reason: kind === 'password' ? 'failed passwords' : 'failed second factors', failures, locked_until: new Date(until).toISOString() } }),
    );
    await this.store.authAttempts.clearFailures(subject, kind);
    throw lockedError(until, now);
  }

  async succeed(userId: string, kind: AuthAttemptKind): Promise<void> {
    await this.store.authAttempts.clearFailures(userSubject(userId), kind);
  }

  /** `users reset-mfa` and an owner's unlock: the account may try again at once. */
  async unlock(userId: string): Promise<void> {
    await this.store.authAttempts.unlock(userSubject(userId));
    await this.store.authAttempts.clearFailures(userSubject(userId), 'password');
    await this.store.authAttempts.clearFailures(userSubject(userId), 'second_factor');
  }

  prune(): Promise<void> {
    return this.store.authAttempts.prune(this.now() - ATTEMPT_WINDOW_MS);
  }
}

function lockedError(until: number, now: number): KeywardenError {
  const retryAfter = Math.max(1, Math.ceil((until - now) / 1000));
  return new KeywardenError('KW_ACCOUNT_LOCKED', {
    message: `This account is locked after too many failed attempts until ${new Date(until).toISOString()}; try again after that time.`,
    headers: { 'retry-after': String(retryAfter) },
  });
}
