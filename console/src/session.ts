// The session as GET /admin/v1/auth/session describes it (contract with the server side, h-cauth).
import { api, setCsrfToken } from './api';

export type Role = 'owner' | 'admin' | 'viewer';
export type SessionState = 'anonymous' | 'setup_required' | 'mfa_required' | 'mfa_enrollment_required' | 'signed_in';

export interface SessionUser {
  id: string;
  name: string;
  role: Role;
  mfa: { totp: boolean; passkeys: number; recovery_codes_left: number };
}

export interface SessionInfo {
  state: SessionState;
  user?: SessionUser;
  csrf_token?: string;
  step_up_until?: number | null;
  expires_at?: number;
}

export async function loadSession(): Promise<SessionInfo> {
  const info = await api<SessionInfo>('/auth/session');
  setCsrfToken(info.csrf_token ?? null);
  return info;
}

/** Viewers read; admins and owners change keys and alerts; owners manage users and upstreams. */
export function canWrite(user: SessionUser | undefined): boolean {
  return user?.role === 'owner' || user?.role === 'admin';
}
export function isOwner(user: SessionUser | undefined): boolean {
  return user?.role === 'owner';
}
