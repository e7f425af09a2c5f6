import { KeywardenError } from '../errors/index.js';
import type { SessionRecord, SessionState, Store } from '../store/index.js';
import type { RequestFacts } from './request-context.js';
import { randomToken, sha256Hex } from './secret-token.js';

/** A second factor this recent allows sensitive actions (GitHub's "sudo mode"). */
export const STEP_UP_MS = 5 * 60_000;
/** "Last seen" is written at most this often per session: reading the admin API must not write on every request. */
const TOUCH_INTERVAL_MS = 60_000;

export interface OpenedSession {
  /** The id for the cookie; only its SHA-256 is stored. */
  id: string;
  record: SessionRecord;
}

/** Server-side sessions in the store, so replicas share them and a restart keeps them. */
export class SessionService {
  constructor(
    private readonly store: Store,
    private readonly now: () => number,
    readonly idleMs: number,
    readonly absoluteMs: number,
  ) {}

  async create(userId: string, state: SessionState, facts: RequestFacts): Promise<OpenedSession> {
    const now = this.now();
    const id = randomToken();
    const record: SessionRecord = {
      idHash: sha256Hex(id),
      userId,
      state,
      csrfToken: randomToken(),
      createdAt: now,
      lastSeenAt: now,
      expiresAt: now + this.absoluteMs,
      stepUpUntil: state === 'signed_in' ? now + STEP_UP_MS : null,
      ip: facts.ip,
      userAgent: facts.userAgent,
      revokedAt: null,
    };
    await this.store.sessions.insert(record);
    return { id, record };
  }

  /** When the session ends if nothing else happens: the idle deadline or the absolute one, whichever is first. */
  endsAt(record: SessionRecord): number {
    return Math.min(record.expiresAt, record.lastSeenAt + this.idleMs);
  }

  /** The live session for a cookie value; KW_SESSION_EXPIRED when it is unknown, revoked or past either deadline. */
  async resolve(id: string): Promise<SessionRecord> {
    const record = await this.store.sessions.get(sha256Hex(id));
    const now = this.now();
    if (!record || record.revokedAt !== null || now >= this.endsAt(record)) throw new KeywardenError('KW_SESSION_EXPIRED');
    if (now - record.lastSeenAt >= TOUCH_INTERVAL_MS) {
      await this.store.sessions.update(record.idHash, { lastSeenAt: now });
      record.lastSeenAt = now;
    }
    return record;
  }

  /**
   * A new id (and CSRF token) for the same session, at each privilege change: a session id seen before the change
   * (by a fixation attack, a shared machine, a log) is worth nothing after it. The absolute deadline is kept.
   */
  async rotate(record: SessionRecord, state: SessionState, stepUpUntil: number | null): Promise<OpenedSession> {
    const id = randomToken();
    const next: SessionRecord = { ...record, idHash: sha256Hex(id), csrfToken: randomToken(), state, stepUpUntil, lastSeenAt: this.now() };
    await this.store.sessions.replace(record.idHash, next);
    return { id, record: next };
  }

  async markStepUp(record: SessionRecord): Promise<number> {
    const until = this.now() + STEP_UP_MS;
    await this.store.sessions.update(record.idHash, { stepUpUntil: until });
    record.stepUpUntil = until;
    return until;
  }

  hasFreshStepUp(record: SessionRecord): boolean {
    return record.stepUpUntil !== null && record.stepUpUntil > this.now();
  }
}
