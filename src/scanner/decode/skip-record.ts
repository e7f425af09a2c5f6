/** Why a file (or an archive member) was not scanned, or not scanned to its end. */
export type ContentSkipReason = 'binary' | 'tooLarge' | 'bomb' | 'encrypted' | 'unreadable';

/** One named skip, reported in the summary so a clean result is never mistaken for a complete one. */
export interface SkipRecord {
  /** Reported path; archive members as `archive.zip!inner/path`. */
  path: string;
  reason: ContentSkipReason;
  /** Human detail, e.g. "zip bomb suspected (ratio 1030:1)". */
  detail?: string;
}

/** Separates an archive's path from a member's path inside it, as in `bundle.zip!config/.env`. */
export const MEMBER_SEPARATOR = '!';

export function memberPath(archive: string, member: string): string {
  return `${archive}${MEMBER_SEPARATOR}${member}`;
}
