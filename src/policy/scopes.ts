import type { KeyScopes } from '../store/index.js';
import { DEFAULT_ENDPOINT_GROUPS, isGroupGranted } from './endpoint-groups.js';
import { compileIpAllowlist, type IpMatcher } from './ip-allowlist.js';
import { compileModelGlobs, type ModelMatcher } from './model-glob.js';

export function defaultScopes(): KeyScopes {
  return { models: [], endpoints: [...DEFAULT_ENDPOINT_GROUPS], ipAllowlist: [], maxBodyBytes: null };
}

/** A key's scopes compiled once, then checked on every request without re-parsing. */
export interface CompiledScopes {
  readonly models: ModelMatcher;
  readonly ips: IpMatcher;
  allowsEndpoint(group: string): boolean;
  readonly maxBodyBytes: number | null;
}

export function compileScopes(scopes: KeyScopes): CompiledScopes {
  const endpoints = scopes.endpoints;
  return {
    models: compileModelGlobs(scopes.models),
    ips: compileIpAllowlist(scopes.ipAllowlist),
    allowsEndpoint: (group) => isGroupGranted(endpoints, group),
    maxBodyBytes: scopes.maxBodyBytes,
  };
}
