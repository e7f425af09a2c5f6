import { existsSync, readFileSync } from 'node:fs';

/**
 * The reservation lines (`{"r":…}`) of a reservation journal as it is on disk right now: USD per reservation id (a
 * lease's id starts with `lease_`). A line being written at that moment does not parse and is left out.
 */
export function journalReservations(file: string): Map<string, number> {
  const lines = new Map<string, number>();
  if (!existsSync(file)) return lines;
  for (const text of readFileSync(file, 'utf8').split('\n')) {
    if (!text.startsWith('{"r":')) continue;
    try {
      const line = JSON.parse(text) as { r?: { id: string; usd: number } };
      if (line.r) lines.set(line.r.id, line.r.usd);
    } catch {
      // a line being written right now
    }
  }
  return lines;
}
