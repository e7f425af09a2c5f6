const MINUTE = 60_000;
const MAX_NOTES = 20;

interface SubjectState {
  /** minute start → events in that minute */
  buckets: Map<number, number>;
  /** `category:value` → count, for the alert's details (bounded). */
  notes: Map<string, number>;
}

export interface WindowTotal {
  subject: string;
  count: number;
  notes: Map<string, number>;
}

/**
 * Counts security events per subject (an IP, a key) in one-minute buckets, so a sliding window of any length can
 * be summed at evaluation time. `add` is a couple of map updates: it runs on the gateway's request path. The
 * number of subjects is capped, so a flood from many addresses cannot exhaust memory; what is dropped is counted.
 */
export class SecurityWindow {
  private readonly subjects = new Map<string, SubjectState>();

  constructor(private readonly maxSubjects = 50_000) {}

  /** False when the event was dropped because the subject cap was reached. */
  add(subject: string, ts: number, notes: readonly string[]): boolean {
    let state = this.subjects.get(subject);
    if (!state) {
      if (this.subjects.size >= this.maxSubjects) return false;
      state = { buckets: new Map(), notes: new Map() };
      this.subjects.set(subject, state);
    }
    const minute = ts - (ts % MINUTE);
    state.buckets.set(minute, (state.buckets.get(minute) ?? 0) + 1);
    for (const note of notes) {
      const current = state.notes.get(note);
      if (current !== undefined) state.notes.set(note, current + 1);
      else if (state.notes.size < MAX_NOTES) state.notes.set(note, 1);
    }
    return true;
  }

  /** Sums the last `windowMs` per subject and forgets anything older. */
  totals(now: number, windowMs: number): WindowTotal[] {
    const from = now - windowMs;
    const out: WindowTotal[] = [];
    for (const [subject, state] of this.subjects) {
      let count = 0;
      for (const [minute, n] of state.buckets) {
        // A bucket counts while any part of its minute is inside the window.
        if (minute + MINUTE <= from) state.buckets.delete(minute);
        else count += n;
      }
      if (state.buckets.size === 0) this.subjects.delete(subject);
      else out.push({ subject, count, notes: state.notes });
    }
    return out;
  }

  get size(): number {
    return this.subjects.size;
  }
}

/** `reason:invalid=40, reason:revoked=10` → `invalid=40, revoked=10` for one category. */
export function summarizeNotes(notes: Map<string, number>, category: string, withCounts = true): string {
  const prefix = `${category}:`;
  return [...notes]
    .filter(([note]) => note.startsWith(prefix))
    .sort((a, b) => b[1] - a[1])
    .map(([note, n]) => (withCounts ? `${note.slice(prefix.length)}=${n}` : note.slice(prefix.length)))
    .join(', ');
}
