import type { Context } from 'hono';
import { KeywardenError } from '../errors/index.js';
import type { SessionRecord, SessionState, UserRecord } from '../store/index.js';
import type { ConsoleAuth } from './console-auth.js';
import type { RequestFacts } from './request-context.js';
import { clearSessionCookie, readSessionCookie } from './session-cookie.js';
import { safeEqual } from './secret-token.js';

export interface CurrentSession {
  record: SessionRecord;
  user: UserRecord;
  facts: RequestFacts;
}

const SAFE_METHODS = new Set(['GET', 'HEAD']);

/**
 * A foreign Origin is refused on every state-changing console request, with or without a session: sign-in
 * forms are a CSRF target too (logging a victim into the attacker's account).
 */
export function assertSameOrigin(c: Context, facts: RequestFacts): void {
  if (SAFE_METHODS.has(c.req.method)) return;
  const origin = c.req.header('origin');
  if (origin !== undefined && origin !== facts.origin) throw new KeywardenError('KW_CSRF_FAILED');
}

/** A state-changing request made with the session cookie needs the session's CSRF token (and, if sent, our Origin). */
export function assertCsrf(c: Context, facts: RequestFacts, record: SessionRecord): void {
  if (SAFE_METHODS.has(c.req.method)) return;
  assertSameOrigin(c, facts);
  const token = c.req.header('x-csrf-token');
  if (token === undefined || !safeEqual(token, record.csrfToken)) throw new KeywardenError('KW_CSRF_FAILED');
}

/** The error for a session that has not reached the state a route needs. */
export function stateError(state: SessionState): KeywardenError {
  return state === 'mfa_enrollment_required' ? new KeywardenError('KW_MFA_ENROLLMENT_REQUIRED') : new KeywardenError('KW_MFA_REQUIRED');
}

/** The session cookie's session, or null when the request carries none. An unknown or ended one is session_expired. */
export async function optionalSession(c: Context, auth: ConsoleAuth): Promise<CurrentSession | null> {
  const facts = auth.facts(c);
  const id = readSessionCookie(c, facts.https);
  if (id === null) return null;
  try {
    const record = await auth.sessions.resolve(id);
    const user = await auth.store.users.get(record.userId);
    if (!user) throw new KeywardenError('KW_SESSION_EXPIRED');
    return { record, user, facts };
  } catch (err) {
    if (err instanceof KeywardenError && err.code === 'KW_SESSION_EXPIRED') clearSessionCookie(c, facts.https);
    throw err;
  }
}

/** The request's session in one of `states`, CSRF-checked; otherwise the matching error. */
export async function requireSession(c: Context, auth: ConsoleAuth, states: readonly SessionState[]): Promise<CurrentSession> {
  const current = await optionalSession(c, auth);
  if (current === null) throw new KeywardenError('KW_SESSION_EXPIRED', { message: 'No session: sign in first.' });
  assertCsrf(c, current.facts, current.record);
  if (!states.includes(current.record.state)) throw stateError(current.record.state);
  return current;
}
