import type { AnchorSnapshot, AuditSigner, SignedAnchor } from './anchor.js';
import type { AuditEntry } from './types.js';
import { verifyChain, type HeadAnchor, type VerifyFailureReason, type VerifyResult } from './verify.js';

export interface AnchoredVerifyOptions {
  signer: AuditSigner;
  anchors: AnchorSnapshot;
  /** A head the operator saved elsewhere, checked in addition to the anchor. */
  expectedHead?: HeadAnchor;
}

/**
 * Verification without a saved head: the chain is checked entry by entry (hashes, links, HMACs), and its end is
 * checked against the signed anchor kept outside the table. Catches a truncated tail (the anchor names a later
 * entry), a tail rewritten and re-chained with plain SHA-256 (no valid HMAC), everything deleted (the anchor still
 * names the head), and an anchor copy deleted, damaged or rolled back (the two copies disagree).
 */
export async function verifyAnchored(
  entries: () => AsyncIterable<AuditEntry>,
  options: AnchoredVerifyOptions,
): Promise<VerifyResult> {
  const anchor = pickAnchor(options);
  if ('reason' in anchor) return anchor;
  if (anchor.anchor === null) {
    // Anchoring never started on this log (an old log before the first start of this version): chain only, but a
    // log whose entries carry HMACs must have an anchor.
    const result = await verifyChain(entries(), options.expectedHead, options.signer);
    if (result.ok && typeof result.firstAnchoredSeq === 'number') {
      return fail(result.firstAnchoredSeq, 'anchor_missing', 'the audit anchor is missing from the vault metadata and the anchor file, although entries are signed: it was deleted');
    }
    return result.ok ? { ...result, anchored: false } : result;
  }
  const signed = anchor.anchor;
  const pinned: HeadAnchor | undefined = signed.seq === 0 ? undefined : { seq: signed.seq, hash: signed.hash };
  const result = await verifyChain(entries(), pinned, options.signer);
  if (!result.ok) {
    if (result.reason === 'truncated') {
      const end = result.seq - 1;
      return {
        ...result,
        message: `the log ends at entry ${end} but the signed anchor records entry ${signed.seq}: ${signed.seq - end} entr${signed.seq - end === 1 ? 'y was' : 'ies were'} deleted from the end`,
      };
    }
    if (result.reason === 'head_mismatch') {
      return { ...result, message: `entry ${signed.seq} differs from the signed anchor: the log was rewritten from there` };
    }
    return result;
  }
  const end = result.head?.seq ?? 0;
  if (end !== signed.seq) {
    return { ok: false, entries: result.entries, seq: signed.seq + 1, reason: 'beyond_anchor', message: `the log continues past the signed anchor (entry ${signed.seq}) to entry ${end}: those entries were not written by keywarden` };
  }
  if (options.expectedHead) {
    const saved = await verifyChain(entries(), options.expectedHead);
    if (!saved.ok) return saved;
  }
  return { ...result, anchored: true };
}

/** The two anchor copies must both be present, authentic and equal. */
function pickAnchor(options: AnchoredVerifyOptions): { anchor: SignedAnchor | null } | (VerifyResult & { reason: VerifyFailureReason }) {
  const { meta, file, fileName } = options.anchors;
  const fileConfigured = fileName !== undefined;
  const where = fileName ?? 'the anchor file';
  for (const [copy, label] of [
    [meta, 'the vault metadata'],
    [file, where],
  ] as const) {
    if (copy === 'unreadable') return fail(0, 'anchor_forged', `the audit anchor in ${label} is damaged`);
    if (copy && !options.signer.matches(copy.seq, copy.hash, copy.mac)) {
      return fail(copy.seq, 'anchor_forged', `the audit anchor in ${label} has a wrong HMAC: it was forged without the vault key`);
    }
  }
  const fileCopy = file === 'unreadable' ? null : (file ?? null);
  if (meta === null && (!fileConfigured || fileCopy === null)) return { anchor: null };
  if (meta === null) return fail(fileCopy?.seq ?? 0, 'anchor_missing', 'the audit anchor is missing from the vault metadata: it was deleted');
  if (fileConfigured && fileCopy === null) return fail(meta.seq, 'anchor_missing', `the audit anchor file ${where} is missing: it was deleted`);
  if (fileCopy && (fileCopy.seq !== meta.seq || fileCopy.hash !== meta.hash)) {
    const older = fileCopy.seq < meta.seq ? `${where} is older` : 'the vault metadata is older';
    return fail(
      Math.min(fileCopy.seq, meta.seq) + 1,
      'anchor_mismatch',
      `the audit anchors disagree (vault metadata: entry ${meta.seq}, anchor file: entry ${fileCopy.seq}): ${older}; it was rolled back (or the process died while committing)`,
    );
  }
  return { anchor: meta };
}

function fail(seq: number, reason: VerifyFailureReason, message: string): VerifyResult & { reason: VerifyFailureReason } {
  return { ok: false, entries: 0, seq, reason, message };
}
