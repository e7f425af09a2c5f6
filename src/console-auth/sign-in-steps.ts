import type { Context } from 'hono';
import type { SessionState, UserRecord } from '../store/index.js';
import type { ConsoleAuth } from './console-auth.js';
import type { RequestFacts } from './request-context.js';
import type { CurrentSession } from './session-access.js';
import { readSessionCookie, writeSessionCookie } from './session-cookie.js';
import { sha256Hex } from './secret-token.js';

export interface SessionAnswer {
  state: SessionState;
  csrf_token: string;
  step_up_until: number | null;
  expires_at: number;
}

/** A fresh session (new id every sign-in, never one the client brought) and its cookie. */
export async function openSession(c: Context, auth: ConsoleAuth, user: UserRecord, facts: RequestFacts, state: SessionState): Promise<SessionAnswer> {
  // The session this browser had (if any) ends: its cookie is about to be replaced, and it must not linger.
  const previous = readSessionCookie(c, facts.https);
  if (previous !== null) await auth.store.sessions.revoke(sha256Hex(previous), auth.now());
  const opened = await auth.sessions.create(user.id, state, facts);
  writeSessionCookie(c, facts.https, opened.id);
  if (state === 'signed_in') await auth.audit.append({ actor: `user:${user.id}`, action: 'user.signed_in', target: `user:${user.id}`, after: { method: 'passkey', ip: facts.ip } });
  return { state, csrf_token: opened.record.csrfToken, step_up_until: opened.record.stepUpUntil, expires_at: auth.sessions.endsAt(opened.record) };
}

/** Password (or setup) done: the next step is the second factor, or enrolling one when there is none yet. */
export async function afterPassword(c: Context, auth: ConsoleAuth, user: UserRecord, facts: RequestFacts): Promise<SessionAnswer> {
  const state: SessionState = (await auth.factors.hasAny(user)) ? 'mfa_required' : 'mfa_enrollment_required';
  return openSession(c, auth, user, facts, state);
}

/** The second factor is done: the session gets a new id (privilege change), full access and a fresh step-up. */
export async function completeSignIn(c: Context, auth: ConsoleAuth, current: CurrentSession, method: string): Promise<SessionAnswer> {
  const rotated = await auth.sessions.rotate(current.record, 'signed_in', auth.now() + 5 * 60_000);
  writeSessionCookie(c, current.facts.https, rotated.id);
  await auth.audit.append({ actor: `user:${current.user.id}`, action: 'user.signed_in', target: `user:${current.user.id}`, after: { method, ip: current.facts.ip } });
  return { state: 'signed_in', csrf_token: rotated.record.csrfToken, step_up_until: rotated.record.stepUpUntil, expires_at: auth.sessions.endsAt(rotated.record) };
}
