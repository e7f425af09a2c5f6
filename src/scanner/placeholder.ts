/**
 * Placeholder suppression: drops candidates that have a key's shape but are obviously not a key (`xxxx`,
 * `your-key-here`, `1234567890abcdef`, `EXAMPLE`...). Every check is tuned so that a uniformly random key of any
 * supported format trips it with negligible probability (well under one in a million): dropping a real key is
 * worse than reporting a fake one. placeholder.test.ts checks this on many thousands of random keys.
 */

/** Markers that may appear anywhere in the key, in one consistent case (5+ letters keeps random hits negligible). */
const LONG_MARKERS = ['example', 'dummy', 'placeholder', 'sample', 'redacted', 'changeme', 'replace', 'insert', 'yourkey'];
const LONG_MARKER_PATTERN = new RegExp(
  LONG_MARKERS.flatMap((m) => [m, m.toUpperCase()]).join('|'),
);
/**
 * Short markers count only as a whole segment between `-`, `_` or `.` (e.g. `sk-your-key-here`). Four letters at
 * least: a random key with `-`/`_` in its alphabet starts with a given 3-letter segment about once in a million.
 */
const SEGMENT_MARKERS = new Set(['your', 'here', 'fake', 'test', 'demo', 'mock', 'todo', 'secret', 'token']);

const MIN_ENTROPY_BITS = 3.0;

export function shannonEntropy(text: string): number {
  if (text.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const ch of text) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const count of counts.values()) {
    const p = count / text.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

/** Longest run of one repeated character. */
function longestRepeat(text: string): number {
  let best = 0;
  let run = 0;
  for (let i = 0; i < text.length; i++) {
    run = i > 0 && text[i] === text[i - 1] ? run + 1 : 1;
    if (run > best) best = run;
  }
  return best;
}

/** Longest run of consecutive ascending or descending characters (`abcdef`, `987654`). */
function longestSequence(text: string): number {
  let best = 1;
  let up = 1;
  let down = 1;
  for (let i = 1; i < text.length; i++) {
    const step = text.charCodeAt(i) - text.charCodeAt(i - 1);
    up = step === 1 ? up + 1 : 1;
    down = step === -1 ? down + 1 : 1;
    best = Math.max(best, up, down);
  }
  return best;
}

/**
 * Longest run of characters that each continue the one two places back by +1 or -1: hand-typed interleavings such
 * as `1a2b3c4d5e6f` (digits and letters both counting up). Returned as the number of steps in the run.
 */
function longestInterleavedSequence(text: string): number {
  let best = 0;
  let up = 0;
  let down = 0;
  let either = 0;
  for (let i = 2; i < text.length; i++) {
    const step = text.charCodeAt(i) - text.charCodeAt(i - 2);
    up = step === 1 ? up + 1 : 0;
    down = step === -1 ? down + 1 : 0;
    either = step === 1 || step === -1 ? either + 1 : 0;
    // One direction throughout counts from 8 steps; mixed (`a9b8c7d6`, letters up, digits down) needs 10, as a
    // step of either sign is twice as likely at random (1/8 per position for hex).
    best = Math.max(best, up, down, either - 2);
  }
  return best;
}

/** Longest run of characters equal to the one `period` places back, for periods 2..8 (`abcd1234abcd1234`). */
function longestPeriodicRun(text: string): number {
  let best = 0;
  for (let period = 2; period <= 8; period++) {
    let run = 0;
    for (let i = period; i < text.length; i++) {
      run = text.charCodeAt(i) === text.charCodeAt(i - period) ? run + 1 : 0;
      if (run > best) best = run;
    }
  }
  return best;
}

function xFraction(text: string): number {
  let xs = 0;
  for (const ch of text) if (ch === 'x' || ch === 'X') xs++;
  return xs / text.length;
}

/**
 * Why `body` (the key without its vendor prefix) looks like a placeholder, or undefined when it looks real.
 * The reason is for tests and debugging; it never includes the body itself.
 */
export function placeholderReason(body: string): string | undefined {
  if (body.length === 0) return 'empty';
  if (longestRepeat(body) >= 6) return 'repeated characters';
  if (longestSequence(body) >= 6) return 'sequential characters';
  // 8 steps at stride two (`1a2b3c4d5e`): a random hex key does this with odds of 16^-8 per position (8^-10 for
  // 10 steps of mixed direction).
  if (longestInterleavedSequence(body) >= 8) return 'interleaved sequence';
  if (body.length >= 8 && xFraction(body) >= 0.25) return 'x placeholder';
  if (LONG_MARKER_PATTERN.test(body)) return 'placeholder word';
  for (const segment of body.split(/[-_.]/)) if (SEGMENT_MARKERS.has(segment.toLowerCase())) return 'placeholder word';
  if (body.length >= 16 && shannonEntropy(body) < MIN_ENTROPY_BITS) return 'low entropy';
  // A short unit typed over and over (`abcd1234abcd1234`): 12 repeated characters, 16^-12 per position for hex.
  if (longestPeriodicRun(body) >= 12) return 'repeated pattern';
  return undefined;
}

export function isPlaceholder(body: string): boolean {
  return placeholderReason(body) !== undefined;
}
