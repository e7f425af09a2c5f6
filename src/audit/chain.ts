import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';
import type { AuditEntry, JsonObject } from './types.js';

/** prevHash of the first entry. */
export const GENESIS_HASH = '0'.repeat(64);

export interface AuditDraft {
  ts: number;
  actor: string;
  action: string;
  target: string;
  before: JsonObject | null;
  after: JsonObject | null;
}

/** SHA-256 over the canonical serialization of every field except the hash itself, prevHash included. */
export function entryHash(entry: Omit<AuditEntry, 'hash'>): string {
  const { seq, ts, actor, action, target, before, after, prevHash } = entry;
  const canonical = canonicalJson({ seq, ts, actor, action, target, before, after, prevHash });
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}

/** Links a draft to the current head: the next seq, the head's hash as prevHash, and its own hash. */
export function sealEntry(draft: AuditDraft, head: AuditEntry | null): AuditEntry {
  const unsealed = { seq: (head?.seq ?? 0) + 1, ...draft, prevHash: head?.hash ?? GENESIS_HASH };
  return { ...unsealed, hash: entryHash(unsealed) };
}
