import type { Finding, ScanTextOptions } from '../types.js';
import type { ArchiveBudget } from './limits.js';
import type { SkipRecord } from './skip-record.js';

/** Where decoded bytes go. Writes are awaited in order; `end` flushes and finishes. */
export interface ByteSink {
  write(chunk: Uint8Array): Promise<void>;
  end(): Promise<void>;
}

/** What one scanned file (with every member inside it) adds up to. */
export interface ContentResult {
  /** The top-level path scanned. */
  path: string;
  /** Bytes read at the top level (compressed size for archives). */
  bytes: number;
  findings: Finding[];
  /** Named skips: the file itself, or members inside it (binary members are only counted, below). */
  skips: SkipRecord[];
  /** Binary members of archives (class files in a jar, images in a docx): counted, not named. */
  binaryMembers: number;
}

/** Where content sits, and what it may still expand into. */
export interface ContentPlace {
  path: string;
  /** Archive levels above this content (0 for a file or blob). */
  depth: number;
  /** Shared by every member of one top-level archive; undefined outside archives. */
  budget: ArchiveBudget | undefined;
  options: ScanTextOptions;
  result: ContentResult;
}

export function emptyResult(path: string): ContentResult {
  return { path, bytes: 0, findings: [], skips: [], binaryMembers: 0 };
}

/** Records a skip: named for files and for members refused for cause; binary members only counted. */
export function recordSkip(place: ContentPlace, skip: SkipRecord): void {
  if (skip.reason === 'binary' && place.depth > 0) place.result.binaryMembers++;
  else place.result.skips.push(skip);
}

/** Accepts and drops everything (binary content, refused members). */
export const DISCARD: ByteSink = {
  write: () => Promise.resolve(),
  end: () => Promise.resolve(),
};
