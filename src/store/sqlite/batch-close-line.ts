import type { BatchCommitted } from './settled-marks.js';

/**
 * The reservation journal's close line for a whole settlement batch: `{"e":epoch,"b":seq,"c":[ids]}`. Written
 * before the batch's commit and honoured by recovery only if that commit happened (settled-marks.ts). One line and
 * one native JSON.stringify for the batch: no per-id test or string per id.
 */
export function batchCloseLine(epoch: string, seq: number, ids: readonly string[]): string {
  return `{"e":${JSON.stringify(epoch)},"b":${seq},"c":${JSON.stringify(ids)}}\n`;
}

/**
 * The ids a parsed journal line closes as a batch line, when `committed` says its batch committed; null for any
 * other line (including a batch line of a batch that never committed, or one of the wrong shape: those close
 * nothing, so their reservations are charged in full: an overstatement, never an understatement).
 */
export function idsClosedByBatch(line: object, committed: BatchCommitted): readonly unknown[] | null {
  const { e, b, c } = line as { e?: unknown; b?: unknown; c?: unknown };
  if (typeof e !== 'string' || typeof b !== 'number' || !Number.isSafeInteger(b) || b < 1 || !Array.isArray(c)) return null;
  return committed(e, b) ? c : null;
}
