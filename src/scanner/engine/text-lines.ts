import { LineLocator } from './line-locator.js';

/**
 * Line lookups for one scanned text, from a line-start index built at most once and only when a candidate first
 * needs context. Walking back with lastIndexOf('\n') from every candidate made a long single-line file quadratic
 * (each lookup crossed the whole line); a binary search over the index costs O(log lines) per candidate instead.
 */
export class TextLines {
  private locator: LineLocator | undefined;

  constructor(readonly text: string) {}

  private index(): LineLocator {
    this.locator ??= new LineLocator(this.text);
    return this.locator;
  }

  /** Offset of the first character of the line holding `pos`. */
  lineStart(pos: number): number {
    return this.index().lineStart(pos);
  }

  /** Offset of the newline ending the line holding `pos` (or the text's length). */
  lineEnd(pos: number): number {
    return this.index().lineEnd(pos);
  }

  /** Start of the line `count` lines above the one holding `pos` (clamped to the first line). */
  lineStartAbove(pos: number, count: number): number {
    return this.index().lineStartAbove(pos, count);
  }

  /** End of the line `count` lines below the one holding `pos` (clamped to the last line). */
  lineEndBelow(pos: number, count: number): number {
    return this.index().lineEndBelow(pos, count);
  }
}
