import type { AuditSigner } from './anchor.js';
import { GENESIS_HASH, entryHash } from './chain.js';
import type { AuditEntry, AuditHead } from './types.js';

export type VerifyFailureReason =
  | 'hash_mismatch'
  | 'broken_link'
  | 'missing'
  | 'reordered'
  | 'head_mismatch'
  | 'truncated'
  // Anchoring (verify-anchored.ts):
  | 'mac_mismatch'
  | 'unanchored_entry'
  | 'anchor_missing'
  | 'anchor_forged'
  | 'anchor_mismatch'
  | 'beyond_anchor';

export type VerifyResult =
  | {
      ok: true;
      entries: number;
      head: AuditHead | null;
      /** With a signer: the first entry carrying an HMAC (earlier ones predate anchoring), or null if none does. */
      firstAnchoredSeq?: number | null;
      /** True when the head was checked against the signed anchor kept outside the table. */
      anchored?: boolean;
    }
  | { ok: false; entries: number; seq: number; reason: VerifyFailureReason; message: string };

/** A saved head: the hash alone, or `seq:hash` (which also pins where it sits, so a rewritten tail is named). */
export interface HeadAnchor {
  seq: number | null;
  hash: string;
}

export function parseHeadAnchor(text: string): HeadAnchor | null {
  const match = /^(?:(\d+):)?([0-9a-f]{64})$/i.exec(text.trim());
  if (!match) return null;
  return { seq: match[1] === undefined ? null : Number(match[1]), hash: (match[2] as string).toLowerCase() };
}

export function formatHeadAnchor(head: AuditHead): string {
  return `${head.seq}:${head.hash}`;
}

/**
 * Walks the entries in storage order and names the first one that is wrong:
 * - hash_mismatch: its content no longer matches its hash (a byte was changed);
 * - broken_link: its prevHash is not the previous entry's hash (an entry was rewritten and re-hashed);
 * - missing: a seq never appears (a row was deleted);
 * - reordered: a seq appears, but later than its place (rows were moved);
 * - head_mismatch / truncated: the saved head differs, or is no longer in the log (the tail was cut).
 * Memory use is constant: a gap is classified by scanning on for the missing seq.
 */
export async function verifyChain(
  entries: AsyncIterable<AuditEntry> | Iterable<AuditEntry>,
  expectedHead?: HeadAnchor,
  signer?: AuditSigner,
): Promise<VerifyResult> {
  let firstAnchoredSeq: number | null = null;
  let count = 0;
  let expectedSeq = 1;
  let prevHash = GENESIS_HASH;
  let last: AuditEntry | null = null;
  let missingSeq: number | null = null;
  let anchorFound = false;
  let previousSeq = 0;
  const fail = (seq: number, reason: VerifyFailureReason, message: string): VerifyResult => ({
    ok: false,
    entries: count,
    seq,
    reason,
    message,
  });

  for await (const entry of entries) {
    count++;
    const before = previousSeq;
    previousSeq = entry.seq;
    if (missingSeq !== null) {
      if (entry.seq === missingSeq) {
        return fail(missingSeq, 'reordered', `entry ${missingSeq} is out of order: it was moved after entry ${before}`);
      }
      continue;
    }
    if (entry.seq !== expectedSeq) {
      if (entry.seq > expectedSeq) {
        missingSeq = expectedSeq;
        continue;
      }
      return fail(entry.seq, 'reordered', `entry ${entry.seq} is out of order: it appears after entry ${expectedSeq - 1}`);
    }
    if (entryHash(entry) !== entry.hash) {
      return fail(entry.seq, 'hash_mismatch', `entry ${entry.seq} was modified: its content does not match its hash`);
    }
    if (entry.prevHash !== prevHash) {
      return fail(
        entry.seq,
        'broken_link',
        `entry ${entry.seq} does not link to entry ${entry.seq - 1}: an entry was rewritten or replaced`,
      );
    }
    if (signer) {
      // Once entries carry HMACs, every later one must: a tail rewritten with plain SHA-256 has none (or wrong ones).
      if (entry.mac === null || entry.mac === undefined) {
        if (firstAnchoredSeq !== null) {
          return fail(entry.seq, 'unanchored_entry', `entry ${entry.seq} has no HMAC although entry ${firstAnchoredSeq} and later do: it was rewritten without the vault key`);
        }
      } else if (!signer.matches(entry.seq, entry.hash, entry.mac)) {
        return fail(entry.seq, 'mac_mismatch', `entry ${entry.seq} has a wrong HMAC: it was rewritten without the vault key`);
      } else if (firstAnchoredSeq === null) firstAnchoredSeq = entry.seq;
    }
    if (expectedHead) {
      if (expectedHead.seq === entry.seq && expectedHead.hash !== entry.hash) {
        return fail(entry.seq, 'head_mismatch', `entry ${entry.seq} differs from the saved head: the log was rewritten from there`);
      }
      if (expectedHead.hash === entry.hash) anchorFound = true;
    }
    prevHash = entry.hash;
    expectedSeq++;
    last = entry;
  }

  if (missingSeq !== null) return fail(missingSeq, 'missing', `entry ${missingSeq} is missing: it was deleted`);
  if (expectedHead && !anchorFound) {
    const end = last?.seq ?? 0;
    const where = expectedHead.seq === null ? 'is not in the log' : `(entry ${expectedHead.seq}) is not in the log`;
    return fail(end + 1, 'truncated', `the saved head ${where}; the log ends at entry ${end}: its tail was truncated`);
  }
  const head = last ? { seq: last.seq, hash: last.hash } : null;
  return signer ? { ok: true, entries: count, head, firstAnchoredSeq } : { ok: true, entries: count, head };
}
