import { KeywardenError } from '../errors/index.js';
import type { KeyRepository, VirtualKeyRecord } from '../store/index.js';
import { assertUsable } from './authenticate.js';

/**
 * An ephemeral child key lives only while its parent does: the parent is read on each of the child's requests
 * (ordinary keys never get here), so revoking, suspending or expiring the parent stops every child on its next
 * request, with no sweep to wait for. The parent is returned for the limiter: its budgets bind the child too.
 */
export async function usableParentOf(child: VirtualKeyRecord, keys: KeyRepository, now: number): Promise<VirtualKeyRecord> {
  const parentId = child.parentId;
  const parent = parentId ? await keys.get(parentId) : null;
  // A child whose parent is gone is as dead as a revoked key.
  if (!parent) throw new KeywardenError('KW_KEY_REVOKED');
  // The parent's current hash: only its state (revoked, expired, suspended) matters here, not which secret was shown.
  assertUsable(parent, parent.hash, now);
  return parent;
}
