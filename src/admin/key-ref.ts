import { KeywardenError } from '../errors/index.js';
import type { KeyRepository, VirtualKeyRecord } from '../store/index.js';

const MAX_LISTED = 10;

/**
 * A key by id or by name, as every admin route and CLI command accepts it. A `key_…` id is tried first; then the
 * name. Names are not unique: several live keys with the name are ambiguous (409, listing their ids). Revoked
 * keys keep their name forever, so a live key is preferred over revoked namesakes; a name held only by revoked
 * keys resolves when exactly one holds it.
 */
export async function resolveKeyRef(keys: Pick<KeyRepository, 'get' | 'list'>, ref: string): Promise<VirtualKeyRecord> {
  const byId = await keys.get(ref);
  if (byId) return byId;
  const named = (await keys.list()).filter((k) => k.name === ref);
  const live = named.filter((k) => k.revokedAt === null);
  const candidates = live.length > 0 ? live : named;
  const [only] = candidates;
  if (candidates.length === 1 && only) return only;
  if (candidates.length === 0) throw new KeywardenError('KW_NOT_FOUND', { message: `No key with id or name "${ref}".` });
  const ids = candidates.slice(0, MAX_LISTED).map((k) => k.id);
  const more = candidates.length > MAX_LISTED ? ` and ${candidates.length - MAX_LISTED} more` : '';
  throw new KeywardenError('KW_CONFLICT', {
    message: `${candidates.length} keys are named "${ref}": ${ids.join(', ')}${more}. Refer to one by its id.`,
  });
}
