import type { Context } from 'hono';
import { KeywardenError } from '../../errors/index.js';
import { roleAllows } from '../admin-roles.js';
import type { AdminEnv } from './route-helpers.js';

/**
 * Owner-only actions (connecting a provider, revoking keys at the provider). The role middleware already refuses
 * these POSTs to non-owners (deny by default); this check in the handler keeps them owner-only even if the
 * route table's prefixes change, because deleting keys at the provider is not something to leave to one list.
 */
export function requireOwner(c: Context<AdminEnv>): void {
  if (!roleAllows(c.get('adminRole'), 'owner')) {
    throw new KeywardenError('KW_ADMIN_FORBIDDEN', { message: 'Only an owner admin token may do this.' });
  }
}
