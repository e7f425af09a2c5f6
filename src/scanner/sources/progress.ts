/** What sources report while they work; the CLI draws a bar from it on a TTY and ignores it elsewhere. */
export interface ScanProgress {
  start(total: number, unit: 'files' | 'blobs' | 'commits'): void;
  advance(items: number, bytes: number): void;
  /** The total grew (files are listed while the scan runs). */
  total?(total: number): void;
  stop(): void;
}

export const NO_PROGRESS: ScanProgress = {
  start: () => undefined,
  advance: () => undefined,
  stop: () => undefined,
};
