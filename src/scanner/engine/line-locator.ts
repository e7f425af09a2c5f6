/** Maps offsets to 1-based lines and columns. Built lazily, only for texts that have findings. */
export class LineLocator {
  private readonly starts: number[] = [0];

  constructor(private readonly text: string) {
    let index = text.indexOf('\n');
    while (index !== -1) {
      this.starts.push(index + 1);
      index = text.indexOf('\n', index + 1);
    }
  }

  /** Index into `starts` (0-based line number) of the line containing `offset`. */
  lineIndex(offset: number): number {
    let low = 0;
    let high = this.starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((this.starts[mid] ?? 0) <= offset) low = mid;
      else high = mid - 1;
    }
    return low;
  }

  lineStart(offset: number): number {
    return this.starts[this.lineIndex(offset)] ?? 0;
  }

  /** Offset of the newline that ends the line containing `offset`, or the text's length on the last line. */
  lineEnd(offset: number): number {
    const next = this.starts[this.lineIndex(offset) + 1];
    return next === undefined ? this.text.length : next - 1;
  }

  /** Start of the line `count` lines above the one containing `offset` (clamped to the first line). */
  lineStartAbove(offset: number, count: number): number {
    return this.starts[Math.max(0, this.lineIndex(offset) - count)] ?? 0;
  }

  /** End of the line `count` lines below the one containing `offset` (clamped to the last line). */
  lineEndBelow(offset: number, count: number): number {
    const next = this.starts[this.lineIndex(offset) + count + 1];
    return next === undefined ? this.text.length : next - 1;
  }

  position(offset: number): { line: number; column: number } {
    const index = this.lineIndex(offset);
    return { line: index + 1, column: offset - (this.starts[index] ?? 0) + 1 };
  }

  /** Inverse of position(). */
  offsetOf(line: number, column: number): number {
    return (this.starts[line - 1] ?? 0) + column - 1;
  }

  /** The text of the line containing `offset`, without its newline. */
  lineText(offset: number): string {
    const index = this.lineIndex(offset);
    const start = this.starts[index] ?? 0;
    const next = this.starts[index + 1];
    const end = next === undefined ? this.text.length : next - 1;
    return this.text.slice(start, end > start && this.text[end - 1] === '\r' ? end - 1 : end);
  }
}
