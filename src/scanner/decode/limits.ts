/**
 * Bounds on what the scanner unpacks. An archive is attacker-controlled input (a repository can hold anything), so
 * every expansion is metered: a member or archive that grows past these limits is refused, never followed.
 */
export const ARCHIVE_LIMITS = {
  /** Archives inside archives are opened this many levels deep (a.zip!b.zip!c.tar!d.env is depth 3). */
  maxDepth: 3,
  /** Decompressed bytes one member may produce. */
  maxMemberBytes: 256 * 1024 * 1024,
  /** Decompressed bytes one top-level archive may produce, nested members included. */
  maxArchiveBytes: 1024 * 1024 * 1024,
  /** Output/input ratio above which a member is taken for a bomb, once it has produced `ratioFloorBytes`. */
  maxRatio: 100,
  ratioFloorBytes: 1024 * 1024,
  /** A nested zip needs random access, so it is held in memory: only up to this size. */
  maxBufferedZipBytes: 64 * 1024 * 1024,
  /** Members listed in one zip central directory (a directory of millions of entries is itself a bomb). */
  maxZipEntries: 100_000,
} as const;

/** Thrown inside a decompressor to stop it; caught by the archive reader, which records the skip. */
export class ExpansionRefused extends Error {
  constructor(readonly reason: 'bomb' | 'tooLarge', readonly detail: string) {
    super(detail);
  }
}

/** Total output of one top-level archive, shared by all its (nested) members. */
export class ArchiveBudget {
  private produced = 0;
  /** Set once the limit is passed: nothing more of this archive is read. */
  spent = false;

  constructor(readonly limit: number = ARCHIVE_LIMITS.maxArchiveBytes) {}

  charge(bytes: number): void {
    this.produced += bytes;
    if (this.produced > this.limit) {
      this.spent = true;
      throw new ExpansionRefused('bomb', `zip bomb suspected (archive expands past ${mib(this.limit)})`);
    }
  }
}

function mib(bytes: number): string {
  return `${Math.round(bytes / (1024 * 1024))} MiB`;
}

/** Meters one member: its own size cap, the compression ratio, and the archive's shared budget. */
export class MemberMeter {
  private input = 0;
  private output = 0;

  constructor(private readonly budget: ArchiveBudget) {}

  consumed(bytes: number): void {
    this.input += bytes;
  }

  produced(bytes: number): void {
    this.output += bytes;
    this.budget.charge(bytes);
    if (this.output > ARCHIVE_LIMITS.maxMemberBytes) {
      throw new ExpansionRefused('bomb', `zip bomb suspected (member expands past ${mib(ARCHIVE_LIMITS.maxMemberBytes)})`);
    }
    if (this.output > ARCHIVE_LIMITS.ratioFloorBytes && this.output > this.input * ARCHIVE_LIMITS.maxRatio) {
      throw new ExpansionRefused('bomb', `zip bomb suspected (ratio ${Math.floor(this.output / Math.max(this.input, 1))}:1)`);
    }
  }
}
