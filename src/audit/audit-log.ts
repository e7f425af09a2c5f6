import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { KeywardenError } from '../errors/index.js';
import type { AuditSigner, SignedAnchor } from './anchor.js';
import { sealEntry } from './chain.js';
import { verifyAnchored } from './verify-anchored.js';
import { sanitizeSummary } from './sanitize.js';
import type { AuditEntry, AuditHead, AuditInput, AuditListQuery, AuditPage, AuditRepository } from './types.js';
import { verifyChain, type HeadAnchor, type VerifyResult } from './verify.js';

const PAGE_SIZE = 500;

/** The tamper-evident log: sanitizes, seals and stores entries; verifies and exports the chain. */
export class AuditLog {
  constructor(
    private readonly repo: AuditRepository,
    private readonly now: () => number = Date.now,
    /** With a signer (the server, holding the vault key) entries get HMACs and the head is anchored. */
    private readonly signer: AuditSigner | null = null,
  ) {}

  /**
   * Starts anchoring a log that has no anchor yet (a new data dir, or a log from before anchoring): its current
   * head is anchored as it stands. A log whose head is signed but whose anchors are both gone is left alone, so
   * `verify` reports the deletion instead of blessing it.
   */
  async startAnchoring(): Promise<void> {
    if (!this.signer) return;
    const anchors = await this.repo.anchors();
    if (anchors.meta !== null || (anchors.file !== undefined && anchors.file !== null)) return;
    const head = await this.repo.head();
    if (head?.mac) return;
    await this.repo.writeAnchor(this.signer.anchorFor(head));
  }

  /** The signed head as recorded outside the table (alert deliveries carry it), or null when not anchored. */
  async anchor(): Promise<SignedAnchor | null> {
    return (await this.repo.anchors()).meta;
  }

  /** Appends one entry. Throws KW_AUDIT_UNAVAILABLE when it cannot be written, so the caller's action fails too. */
  async append(input: AuditInput): Promise<AuditEntry> {
    const draft = {
      ts: input.ts ?? this.now(),
      actor: input.actor,
      action: input.action,
      target: input.target,
      before: sanitizeSummary(input.before),
      after: sanitizeSummary(input.after),
    };
    try {
      const signer = this.signer;
      return await this.repo.append((head) => {
        const entry = sealEntry(draft, head);
        return signer ? { ...entry, mac: signer.mac(entry.seq, entry.hash) } : entry;
      });
    } catch (err) {
      throw new KeywardenError('KW_AUDIT_UNAVAILABLE', { cause: err });
    }
  }

  /**
   * Performs `action` and records it as one unit: with SQLite, one transaction. If the entry cannot be written the
   * action's store writes are rolled back and KW_AUDIT_UNAVAILABLE is thrown; if the action throws, nothing is
   * recorded. `action` must only do store work (no network calls): run side effects after this resolves.
   */
  async withAudit<T>(action: () => Promise<T>, describe: (result: T) => AuditInput): Promise<T> {
    let appended = false;
    try {
      return await this.repo.atomically(async () => {
        const result = await action();
        await this.append(describe(result));
        appended = true;
        return result;
      });
    } catch (err) {
      // A failing COMMIT after a successful append still means nothing was recorded.
      if (appended && !(err instanceof KeywardenError)) throw new KeywardenError('KW_AUDIT_UNAVAILABLE', { cause: err });
      throw err;
    }
  }

  async head(): Promise<AuditHead | null> {
    const entry = await this.repo.head();
    return entry ? { seq: entry.seq, hash: entry.hash } : null;
  }

  list(query: AuditListQuery): Promise<AuditEntry[]> {
    return this.repo.list(query);
  }

  /** One page in storage order; pass the returned `next` back for the following page. */
  page(cursor: number | null, limit: number): Promise<AuditPage> {
    return this.repo.readPage(cursor, limit);
  }

  /** Every entry in storage order, a page at a time. */
  async *entries(): AsyncGenerator<AuditEntry> {
    let cursor: number | null = null;
    do {
      const page = await this.repo.readPage(cursor, PAGE_SIZE);
      yield* page.entries;
      cursor = page.next;
    } while (cursor !== null);
  }

  /** Checks the whole chain, and against a saved head when given (which catches a truncated tail). */
  async verify(options: { expectedHead?: HeadAnchor } = {}): Promise<VerifyResult> {
    if (!this.signer) return verifyChain(this.entries(), options.expectedHead);
    return verifyAnchored(() => this.entries(), { signer: this.signer, anchors: await this.repo.anchors(), expectedHead: options.expectedHead });
  }

  /** Writes the log as JSON lines in storage order, honouring backpressure. Returns the number of entries. */
  async exportJsonl(out: Writable): Promise<number> {
    let count = 0;
    for await (const entry of this.entries()) {
      count++;
      if (!out.write(`${JSON.stringify(toExportLine(entry))}\n`)) await once(out, 'drain');
    }
    return count;
  }
}

/** The export format: the entry itself plus a readable time. `verifyChain` accepts these lines as they are. */
export function toExportLine(entry: AuditEntry): AuditEntry & { time: string } {
  return { ...entry, time: new Date(entry.ts).toISOString() };
}
