import { createHmac, timingSafeEqual } from 'node:crypto';
import { GENESIS_HASH } from './chain.js';
import type { AuditEntry } from './types.js';

/**
 * The chain head recorded outside the audit table (vault metadata, a 0600 anchor file, each alert delivery):
 * seq + hash + an HMAC under a key derived from the vault data key. Someone who can edit the database but does
 * not hold the vault key can neither forge an entry's HMAC nor an anchor for a head of their choosing.
 */
export interface SignedAnchor {
  seq: number;
  hash: string;
  mac: string;
}

/** Where the anchor is kept, as read back for verification. */
export interface AnchorSnapshot {
  /** The copy in the database's vault metadata, committed with the entry. */
  meta: SignedAnchor | null;
  /** The copy in the anchor file; 'unreadable' when present but damaged; undefined when no file is configured. */
  file?: SignedAnchor | null | 'unreadable';
  /** Where the anchor file lives, for messages. */
  fileName?: string;
}

/** The anchor of an empty log, written when anchoring starts before the first entry. */
export const GENESIS_SEQ = 0;

/** HMACs for entries and anchors. The entry hash covers every field and the link, so the MAC is taken over it. */
export class AuditSigner {
  constructor(private readonly key: Buffer) {}

  mac(seq: number, hash: string): string {
    return createHmac('sha256', this.key).update(`keywarden/audit-entry:${seq}:${hash}`).digest('hex');
  }

  matches(seq: number, hash: string, mac: string | null | undefined): boolean {
    if (typeof mac !== 'string' || !/^[0-9a-f]{64}$/.test(mac)) return false;
    return timingSafeEqual(Buffer.from(this.mac(seq, hash), 'hex'), Buffer.from(mac, 'hex'));
  }

  anchorFor(entry: Pick<AuditEntry, 'seq' | 'hash'> | null): SignedAnchor {
    const seq = entry?.seq ?? GENESIS_SEQ;
    const hash = entry?.hash ?? GENESIS_HASH;
    return { seq, hash, mac: this.mac(seq, hash) };
  }
}

/** Parses a stored anchor; anything else is null (the caller reports it as damaged). */
export function parseAnchor(text: string): SignedAnchor | null {
  try {
    const value = JSON.parse(text) as Partial<SignedAnchor>;
    if (typeof value.seq !== 'number' || !Number.isSafeInteger(value.seq) || value.seq < 0) return null;
    if (typeof value.hash !== 'string' || !/^[0-9a-f]{64}$/.test(value.hash)) return null;
    if (typeof value.mac !== 'string' || !/^[0-9a-f]{64}$/.test(value.mac)) return null;
    return { seq: value.seq, hash: value.hash, mac: value.mac };
  } catch {
    return null;
  }
}

export function formatAnchor(anchor: SignedAnchor): string {
  return JSON.stringify({ seq: anchor.seq, hash: anchor.hash, mac: anchor.mac });
}
