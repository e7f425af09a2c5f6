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

/**
 * `archive!member`. Member names come from inside the archive, so control characters (a newline could forge a line
 * of the text report) are written as visible `\xNN` escapes.
 */
export function memberPath(archive: string, member: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  const visible = member.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return `${archive}${MEMBER_SEPARATOR}${visible}`;
}
