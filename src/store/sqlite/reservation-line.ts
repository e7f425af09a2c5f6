import type { ReservationRecord } from '../types.js';

/** Strings that need no escaping inside JSON quotes (every id and period key the gateway makes). */
const PLAIN = /^[\w:.@-]*$/;

function plainList(values: readonly string[]): string | null {
  let text = '[';
  for (let i = 0; i < values.length; i++) {
    const value = values[i] as string;
    if (!PLAIN.test(value)) return null;
    text += `${i === 0 ? '' : ','}"${value}"`;
  }
  return `${text}]`;
}

/**
 * The journal line of a reservation, `{"r":{…}}\n`: parsed back, the same record JSON.stringify's line gives. It is
 * built by hand because it is written once per budgeted request: JSON.stringify walks the object generically and
 * costs several times more. Any string that would need escaping, or a number JSON cannot hold, falls back to
 * JSON.stringify, so the line is always valid JSON on one line.
 */
export function reservationLine(r: ReservationRecord): string {
  const periodKeys = plainList(r.periodKeys);
  const projectPeriodKeys = r.projectPeriodKeys === undefined ? '' : plainList(r.projectPeriodKeys);
  if (
    periodKeys === null ||
    projectPeriodKeys === null ||
    !PLAIN.test(r.id) ||
    !PLAIN.test(r.keyId) ||
    (r.projectId !== undefined && !PLAIN.test(r.projectId)) ||
    !Number.isFinite(r.usd) ||
    !Number.isFinite(r.createdAt)
  ) {
    return `{"r":${JSON.stringify(r)}}\n`;
  }
  let line = `{"r":{"id":"${r.id}","keyId":"${r.keyId}","usd":${r.usd},"periodKeys":${periodKeys},"createdAt":${r.createdAt}`;
  if (r.projectId !== undefined) line += `,"projectId":"${r.projectId}"`;
  if (r.projectPeriodKeys !== undefined) line += `,"projectPeriodKeys":${projectPeriodKeys}`;
  return `${line}}}\n`;
}
