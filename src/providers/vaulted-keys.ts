import { upstreamKeyAad } from '../gateway/upstream-registry.js';
import type { Store } from '../store/index.js';
import type { Vault } from '../vault/index.js';

export interface VaultedKey {
  upstreamId: string;
  upstreamName: string;
  keyId: string;
  /** Plaintext, in memory for the duration of one inventory or reconciliation pass only. */
  secret: string;
}

/** Every upstream key in the vault, decrypted. A key the vault cannot open is skipped (it cannot match anything). */
export async function loadVaultedKeys(store: Store, vault: Vault): Promise<VaultedKey[]> {
  const out: VaultedKey[] = [];
  for (const upstream of await store.upstreams.list()) {
    for (const key of upstream.keys) {
      try {
        out.push({ upstreamId: upstream.id, upstreamName: upstream.name, keyId: key.id, secret: vault.decrypt(key.ciphertext, upstreamKeyAad(upstream.id, key.id)) });
      } catch {
        // Undecryptable: the gateway reports it as misconfigured; here it simply matches no provider key.
      }
    }
  }
  return out;
}
