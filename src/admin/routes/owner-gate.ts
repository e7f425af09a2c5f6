import type { Context } from 'hono';
import type { AdminEnv } from './route-helpers.js';

/**
 * Gate for owner-only actions (connecting a provider, revoking keys at the provider). Admin tokens have no role
 * yet, so every valid admin token is an owner today; when roles land (admin-tokens.ts), this one function becomes
 * the role check and every provider route follows.
 */
export function requireOwner(_c: Context<AdminEnv>): void {
  // Intentionally empty until admin token roles exist: the auth middleware has already verified the token.
}
