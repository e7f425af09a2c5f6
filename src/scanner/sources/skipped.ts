import type { SkipRecord } from '../decode/skip-record.js';

/** Why a file was not scanned. */
export type SkipReason = 'gitignored' | 'ignoredByConfig' | 'binary' | 'tooLarge' | 'unreadable' | 'bomb' | 'encrypted';

/** Reasons whose files are named one by one in the report (gitignored files are summed, sensitive names listed). */
const NAMED_REASONS: ReadonlySet<SkipReason> = new Set(['binary', 'tooLarge', 'unreadable', 'bomb', 'encrypted']);

/**
 * What a path scan left out, so a clean report is never mistaken for "everything was checked". Gitignored
 * directories are counted as directories: walking node_modules only to count it would cost more than the scan.
 */
export interface SkipSummary {
  files: Record<SkipReason, number>;
  gitignoredDirectories: number;
  /** Gitignored files whose names usually mean secrets (.env, *.pem, ...): the ones a person would want checked. */
  gitignoredSensitive: string[];
  /** How many sensitive names were found in all (the list above is capped). */
  gitignoredSensitiveTotal: number;
  /** The user's size limit that `tooLarge` refers to, in bytes; undefined when there is none (the default). */
  maxFileSize: number | undefined;
  /** Files scanned (read and decoded), next to the skipped ones. */
  scannedFiles: number;
  /** Every file (and archive member) skipped for its content, by name and reason: capped at NAMED_LIST_CAP. */
  named: SkipRecord[];
  /** How many were named in all (the list above is capped). */
  namedTotal: number;
  /** Binary members of archives (class files in a jar, images in a docx): counted, not named. */
  binaryMembers: number;
}

const SENSITIVE_LIST_CAP = 20;
/** Enough to name every skip of an ordinary tree; a tree of 50,000 images gets a count past this. */
export const NAMED_LIST_CAP = 1000;

/** File names that usually hold secrets (basename, case-insensitive). */
const SENSITIVE_NAME =
  /^(\.env.*|.*\.env|.*\.(pem|key|p12|pfx|jks|keystore|ppk|tfvars)|credentials(\..*)?|.*credentials\.json|id_(rsa|dsa|ecdsa|ed25519)(\..*)?|\.netrc|\.npmrc|\.pypirc|secrets?\..*|service[-_]account.*\.json)$/is;

/** Names that match but are templates meant to be committed. */
const TEMPLATE_NAME = /\.(example|sample|template|dist|tmpl)$|\.pub$/i;

export function looksSensitive(relative: string): boolean {
  const base = relative.slice(relative.lastIndexOf('/') + 1);
  return SENSITIVE_NAME.test(base) && !TEMPLATE_NAME.test(base);
}

export class SkipTally {
  private readonly summary: SkipSummary;

  constructor(maxFileSize: number | undefined) {
    this.summary = {
      files: { gitignored: 0, ignoredByConfig: 0, binary: 0, tooLarge: 0, unreadable: 0, bomb: 0, encrypted: 0 },
      gitignoredDirectories: 0,
      gitignoredSensitive: [],
      gitignoredSensitiveTotal: 0,
      maxFileSize,
      scannedFiles: 0,
      named: [],
      namedTotal: 0,
      binaryMembers: 0,
    };
  }

  file(reason: SkipReason, relative?: string, detail?: string): void {
    this.summary.files[reason]++;
    if (NAMED_REASONS.has(reason) && relative !== undefined) this.name({ path: relative, reason: reason as SkipRecord['reason'], ...(detail ? { detail } : {}) });
    if (reason === 'gitignored' && relative !== undefined && looksSensitive(relative)) {
      this.summary.gitignoredSensitiveTotal++;
      // The walk lists directories concurrently, so names arrive in no fixed order: keep the first names in
      // sorted order, so the same tree always gives the same report.
      const list = this.summary.gitignoredSensitive;
      if (list.length < SENSITIVE_LIST_CAP || relative < (list[list.length - 1] as string)) {
        let at = list.length;
        while (at > 0 && relative < (list[at - 1] as string)) at--;
        list.splice(at, 0, relative);
        if (list.length > SENSITIVE_LIST_CAP) list.pop();
      }
    }
  }

  gitignoredDirectory(): void {
    this.summary.gitignoredDirectories++;
  }

  private name(record: SkipRecord): void {
    this.summary.namedTotal++;
    if (this.summary.named.length < NAMED_LIST_CAP) this.summary.named.push(record);
  }

  /** What a scan task skipped: each record counts once under its reason and is named. */
  add(records: readonly SkipRecord[], binaryMembers = 0, scannedFiles = 0): void {
    for (const record of records) {
      this.summary.files[record.reason]++;
      this.name(record);
    }
    this.summary.binaryMembers += binaryMembers;
    this.summary.scannedFiles += scannedFiles;
  }

  result(): SkipSummary {
    return {
      ...this.summary,
      files: { ...this.summary.files },
      gitignoredSensitive: [...this.summary.gitignoredSensitive],
      named: [...this.summary.named],
    };
  }
}

export function totalSkipped(summary: SkipSummary): number {
  return Object.values(summary.files).reduce((sum, count) => sum + count, 0);
}
