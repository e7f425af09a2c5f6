import { scanText } from '../engine/engine.js';
import { LineLocator } from '../engine/line-locator.js';
import type { Finding, ScanTextOptions } from '../types.js';

/** Characters scanned at once. Memory per scan is about one window (latin1 text: one byte per character). */
export const WINDOW_CHARS = 8 * 1024 * 1024;
/**
 * Characters shared by neighbouring windows. Each window owns the findings that start in its middle, at least half
 * an overlap from either edge; half an overlap (32 Ki) is far more than the longest key plus the context the rules
 * read (1 KiB each way), so a key straddling a boundary is seen whole, with its context, by exactly one window.
 */
export const WINDOW_OVERLAP = 64 * 1024;

function hasNonAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return true;
  return false;
}

/**
 * Scans text of any length in bounded memory: text is pushed in pieces, scanned in overlapping windows, and each
 * finding is placed by the newlines of all text before its window, so lines stay those of the whole file.
 */
export class WindowScanner {
  private pending = '';
  private pendingLength = 0;
  private pieces: string[] = [];
  /** Offset of pending[0] in the whole text. */
  private base = 0;
  /** Newlines before `base`. */
  private linesBefore = 0;
  /** Offset, in the whole text, of the start of the line that holds `base`. */
  private lineStartOfBase = 0;
  private first = true;
  readonly findings: Finding[] = [];
  /** Characters scanned in all. */
  length = 0;

  constructor(
    private readonly path: string,
    private readonly options: ScanTextOptions,
    /** UTF-8 read as latin1: columns are corrected to UTF-16 units for lines with non-ASCII bytes. */
    private readonly latin1Utf8: boolean,
    private readonly windowChars = WINDOW_CHARS,
    private readonly overlap = WINDOW_OVERLAP,
  ) {}

  push(text: string): void {
    if (text.length === 0) return;
    this.pieces.push(text);
    this.pendingLength += text.length;
    this.length += text.length;
    while (this.pendingLength >= this.windowChars + this.overlap) this.scanWindow(false);
  }

  end(): void {
    this.scanWindow(true);
  }

  private take(): string {
    if (this.pieces.length > 0) {
      this.pending = this.pending + this.pieces.join('');
      this.pieces = [];
    }
    return this.pending;
  }

  private scanWindow(last: boolean): void {
    const text = this.take();
    const window = last ? text : text.slice(0, this.windowChars + this.overlap);
    const ownFrom = this.first ? 0 : this.overlap / 2;
    const ownTo = last ? Infinity : this.windowChars + this.overlap / 2;
    const found = scanText(window, { ...this.options, path: this.path });
    if (found.length > 0) {
      const locator = new LineLocator(window);
      for (const finding of found) {
        const offset = locator.offsetOf(finding.line, finding.column);
        if (offset < ownFrom || offset >= ownTo) continue;
        this.place(finding, window, locator);
        this.findings.push(finding);
      }
    }
    this.first = false;
    if (last) {
      this.pending = '';
      this.pendingLength = 0;
      return;
    }
    // Move on by one window: count what is left behind, keep the overlap.
    const dropped = text.slice(0, this.windowChars);
    let newlines = 0;
    let lastNewline = -1;
    for (let at = dropped.indexOf('\n'); at !== -1; at = dropped.indexOf('\n', at + 1)) {
      newlines++;
      lastNewline = at;
    }
    this.linesBefore += newlines;
    if (lastNewline !== -1) this.lineStartOfBase = this.base + lastNewline + 1;
    this.base += this.windowChars;
    this.pending = text.slice(this.windowChars);
    this.pendingLength = this.pending.length;
  }

  /** Window-relative line and column → whole-text line and column. */
  private place(finding: Finding, window: string, locator: LineLocator): void {
    const onFirstLine = finding.line === 1;
    if (this.latin1Utf8) {
      const lineStart = locator.offsetOf(finding.line, 1);
      const before = window.slice(lineStart, lineStart + finding.column - 1);
      if (hasNonAscii(before)) {
        const width = finding.endColumn - finding.column;
        finding.column = Buffer.from(before, 'latin1').toString('utf8').length + 1;
        finding.endColumn = finding.column + width;
      }
    }
    if (onFirstLine) {
      // The line began in an earlier window; its characters there count (as latin1 characters: a rare, small skew
      // for non-ASCII UTF-8 far back on a very long line).
      const shift = this.base - this.lineStartOfBase;
      finding.column += shift;
      finding.endColumn += shift;
    }
    finding.line += this.linesBefore;
  }
}
