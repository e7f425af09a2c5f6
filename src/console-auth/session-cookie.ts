import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';

/** `__Host-` binds the cookie to this exact origin (Secure, Path=/, no Domain); browsers accept it only over HTTPS. */
export const SECURE_SESSION_COOKIE = '__Host-kw_session';
export const PLAIN_SESSION_COOKIE = 'kw_session';

function cookieName(https: boolean): string {
  return https ? SECURE_SESSION_COOKIE : PLAIN_SESSION_COOKIE;
}

/** The session id the client sent, read only under the name that fits this request's scheme. */
export function readSessionCookie(c: Context, https: boolean): string | null {
  const value = getCookie(c, cookieName(https));
  return value !== undefined && /^[A-Za-z0-9_-]{43}$/.test(value) ? value : null;
}

/** Session cookies carry no Max-Age: the server decides expiry, and a closed browser forgets the id. */
export function writeSessionCookie(c: Context, https: boolean, sessionId: string): void {
  setCookie(c, cookieName(https), sessionId, { httpOnly: true, sameSite: 'Strict', path: '/', secure: https });
}

export function clearSessionCookie(c: Context, https: boolean): void {
  deleteCookie(c, cookieName(https), { httpOnly: true, sameSite: 'Strict', path: '/', secure: https });
}
