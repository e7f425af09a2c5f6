import { compileScopes, type CompiledScopes } from '../policy/index.js';
import type { VirtualKeyRecord } from '../store/index.js';

/** Compiles each key's scopes once per version of the key (id + updatedAt), not once per request. */
export class ScopeCache {
  private readonly entries = new Map<string, { updatedAt: number; compiled: CompiledScopes }>();

  get(key: VirtualKeyRecord): CompiledScopes {
    const hit = this.entries.get(key.id);
    if (hit && hit.updatedAt === key.updatedAt) return hit.compiled;
    const compiled = compileScopes(key.scopes);
    if (this.entries.size > 50_000) this.entries.clear();
    this.entries.set(key.id, { updatedAt: key.updatedAt, compiled });
    return compiled;
  }
}
