/**
 * Admin API actions a console session may take only within five minutes of a second factor (step-up): any write
 * to upstreams (their keys, and their base URLs, which decide where a key is sent), anything about users,
 * minting admin tokens (a token would outlive the step-up), connecting a provider admin key. Admin tokens are not
 * affected: they are not phishable sessions. Decided from method and path before any route runs, like the role
 * rules in admin/admin-roles.ts.
 */
export function needsStepUp(method: string, path: string): boolean {
  if (path === '/admin/v1/users' || path.startsWith('/admin/v1/users/')) return true;
  if (method === 'GET' || method === 'HEAD') return false;
  // Every upstream write: adding keys, and also changing an upstream's base URL, which would send its key elsewhere.
  if (path === '/admin/v1/upstreams' || path.startsWith('/admin/v1/upstreams/')) return true;
  if (path === '/admin/v1/admin-tokens' || path.startsWith('/admin/v1/admin-tokens/')) return true;
  if (path === '/admin/v1/providers' || path.startsWith('/admin/v1/providers/')) return true;
  if (path === '/admin/v1/vault' || path.startsWith('/admin/v1/vault/')) return true;
  return false;
}
