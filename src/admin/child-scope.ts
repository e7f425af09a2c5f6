import { KeywardenError } from '../errors/index.js';
import { isGroupGranted, matchesModelGlob, parseRange } from '../policy/index.js';
import type { KeyScopes } from '../store/index.js';

/**
 * A child key's scopes may only narrow its parent's. Each check is a proof: a child scope that cannot be shown to
 * lie within the parent's is refused, even when it might in fact (a narrower scope is always available instead).
 */

const hasWildcard = (glob: string): boolean => /[*?]/.test(glob);

/**
 * Whether every model the child glob matches is matched by the parent glob. Proven in three cases: the parent is
 * `*`; the child is a literal the parent matches; or the parent is `PREFIX*` (no other wildcard) and the child's
 * literal text before its first wildcard starts with PREFIX. Anything else is refused.
 */
export function globWithin(child: string, parent: string): boolean {
  if (parent === '*') return true;
  if (!hasWildcard(child)) return matchesModelGlob(parent, child);
  if (!hasWildcard(parent)) return false;
  const prefix = parent.slice(0, -1);
  if (!parent.endsWith('*') || hasWildcard(prefix)) return false;
  const childLiteral = child.slice(0, child.search(/[*?]/));
  return childLiteral.startsWith(prefix);
}

/** Whether the child IP range lies inside the parent range (same family, at least as long a prefix). */
export function rangeWithin(child: string, parent: string): boolean {
  const [childAddress, childBits] = parseRange(child);
  const [parentAddress, parentBits] = parseRange(parent);
  if (childAddress.kind() !== parentAddress.kind() || childBits < parentBits) return false;
  return childAddress.match(parentAddress, parentBits);
}

function refuse(param: string, message: string): never {
  throw new KeywardenError('KW_VALIDATION', { message, param });
}

export interface RequestedScopes {
  models?: string[];
  endpoints?: string[];
  ip_allowlist?: string[];
  max_body_bytes?: number | null;
}

/** The child's scopes: each one asked for must lie within the parent's; each one not asked for is the parent's. */
export function narrowScopes(parent: KeyScopes, asked: RequestedScopes): KeyScopes {
  let models = parent.models;
  if (asked.models !== undefined) {
    // An empty list means "every model": only a parent that allows every model can grant it.
    if (asked.models.length === 0 && parent.models.length > 0) refuse('models', 'A child key cannot allow every model: its parent does not.');
    for (const glob of asked.models) {
      if (parent.models.length > 0 && !parent.models.some((p) => globWithin(glob, p))) {
        refuse('models', `The model "${glob}" is not provably within the parent key's models (${parent.models.join(', ')}).`);
      }
    }
    models = asked.models;
  }
  let endpoints = parent.endpoints;
  if (asked.endpoints !== undefined) {
    for (const group of asked.endpoints) {
      const granted = group === '*' ? parent.endpoints.includes('*') : isGroupGranted(parent.endpoints, group);
      if (!granted) refuse('endpoints', `The endpoint group "${group}" is not granted to the parent key.`);
    }
    endpoints = asked.endpoints;
  }
  let ipAllowlist = parent.ipAllowlist;
  if (asked.ip_allowlist !== undefined) {
    if (asked.ip_allowlist.length === 0 && parent.ipAllowlist.length > 0) refuse('ip_allowlist', 'A child key cannot allow every network: its parent does not.');
    for (const range of asked.ip_allowlist) {
      if (parent.ipAllowlist.length > 0 && !parent.ipAllowlist.some((p) => rangeWithin(range, p))) {
        refuse('ip_allowlist', `The network ${range} is not within the parent key's allowlist.`);
      }
    }
    ipAllowlist = asked.ip_allowlist;
  }
  let maxBodyBytes = parent.maxBodyBytes;
  if (asked.max_body_bytes !== undefined && asked.max_body_bytes !== null) {
    if (parent.maxBodyBytes !== null && asked.max_body_bytes > parent.maxBodyBytes) refuse('max_body_bytes', "A child key's body limit cannot exceed its parent's.");
    maxBodyBytes = asked.max_body_bytes;
  }
  return {
    models: [...models],
    endpoints: [...endpoints],
    ipAllowlist: [...ipAllowlist],
    maxBodyBytes,
    ...(parent.objectsFrom ? { objectsFrom: [...parent.objectsFrom] } : {}),
  };
}
