import type { AdminRole } from '../store/index.js';

const RANK: Record<AdminRole, number> = { viewer: 0, admin: 1, owner: 2 };

/** Write routes an `admin` may use; every other write (upstreams, admin tokens, anything added later) is owner-only. */
const TOKENS_PATH = '/admin/v1/admin-tokens';
const USERS_PATH = '/admin/v1/users';
const ADMIN_WRITE_PREFIXES = ['/admin/v1/keys', '/admin/v1/alerts', '/admin/v1/projects'];

/**
 * The role a request needs, decided by method and path before any route runs. Deny by default: a new write
 * route is owner-only until it is listed here.
 */
export function requiredRole(method: string, path: string): AdminRole {
  // Admin tokens are the keys to the admin API itself: even listing them is for owners.
  if (path === TOKENS_PATH || path.startsWith(`${TOKENS_PATH}/`)) return 'owner';
  // Console users likewise: their list and roles are for owners.
  if (path === USERS_PATH || path.startsWith(`${USERS_PATH}/`)) return 'owner';
  if (method === 'GET' || method === 'HEAD') return 'viewer';
  const adminWrite = ADMIN_WRITE_PREFIXES.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));
  return adminWrite ? 'admin' : 'owner';
}

export function roleAllows(role: AdminRole, needed: AdminRole): boolean {
  return RANK[role] >= RANK[needed];
}
