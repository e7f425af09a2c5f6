/** Why a file was not scanned. */
export type SkipReason = 'gitignored' | 'ignoredByConfig' | 'binary' | 'tooLarge' | 'unreadable';

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
  /** The size limit that `tooLarge` refers to, in bytes. */
  maxFileSize: number;
}

const SENSITIVE_LIST_CAP = 20;

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

  constructor(maxFileSize: number) {
    this.summary = {
      files: { gitignored: 0, ignoredByConfig: 0, binary: 0, tooLarge: 0, unreadable: 0 },
      gitignoredDirectories: 0,
      gitignoredSensitive: [],
      gitignoredSensitiveTotal: 0,
      maxFileSize,
    };
  }

  file(reason: SkipReason, relative?: string): void {
    this.summary.files[reason]++;
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

  add(counts: Partial<Record<SkipReason, number>>): void {
    for (const [reason, count] of Object.entries(counts) as Array<[SkipReason, number]>) this.summary.files[reason] += count;
  }

  result(): SkipSummary {
    return { ...this.summary, files: { ...this.summary.files }, gitignoredSensitive: [...this.summary.gitignoredSensitive] };
  }
}

export function totalSkipped(summary: SkipSummary): number {
  return Object.values(summary.files).reduce((sum, count) => sum + count, 0);
}
