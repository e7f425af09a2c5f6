import path from 'node:path';
import { AuditLog, AuditSigner } from '../audit/index.js';
import type { StoreBackend } from '../store/open-store.js';
import { AUDIT_ANCHOR_FILE_NAME } from '../store/sqlite/audit-anchor-file.js';
import type { Vault } from '../vault/index.js';

/**
 * The audit log as every process that holds the vault writes it: entries HMAC-ed under the vault's audit key, the
 * head anchored in the vault metadata and in `<dataDir>/audit.anchor` (0600). Starts anchoring an unanchored log.
 */
export async function openAnchoredAuditLog(store: StoreBackend, dataDir: string, vault: Vault, now: () => number = Date.now): Promise<AuditLog> {
  const repo = store.auditRepository(path.join(dataDir, AUDIT_ANCHOR_FILE_NAME));
  const audit = new AuditLog(repo, now, new AuditSigner(vault.auditKey));
  await audit.startAnchoring();
  return audit;
}
