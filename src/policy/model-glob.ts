/** A compiled list of model glob patterns (`*` any run, `?` one character); empty allows every model. */
export interface ModelMatcher {
  allows(model: string): boolean;
}

/**
 * Longest glob accepted for scopes and model rules (validated by the admin API and the limits schema). Matching is
 * linear whatever the length; the cap keeps the pattern × model work small and stored records tidy.
 */
export const MAX_MODEL_GLOB_LENGTH = 200;

/**
 * A glob compiled to its `*`-separated segments. Matching never backtracks: the first segment is anchored at the
 * start, the last at the end, and each middle segment is taken at its leftmost occurrence. Leftmost is always
 * safe because a `*` may absorb anything, so an earlier match leaves at least as much room for what follows.
 * Cost: O(model length × longest segment), i.e. linear in the model for a length-capped pattern (a regex with
 * several `.*` backtracks polynomially on a near-miss).
 */
interface CompiledGlob {
  /** No `*` at all: the model must match the single segment exactly (with `?` wildcards). */
  readonly exact: boolean;
  readonly segments: readonly string[];
}

const ANY_ONE = 63; // '?'

function compileGlob(pattern: string): CompiledGlob {
  const segments = pattern.split('*');
  return { exact: segments.length === 1, segments };
}

/** True when `segment` (with `?` as any one UTF-16 unit) matches `text` at `at`. */
function segmentAt(text: string, at: number, segment: string): boolean {
  if (at < 0 || at + segment.length > text.length) return false;
  for (let i = 0; i < segment.length; i++) {
    const c = segment.charCodeAt(i);
    if (c !== ANY_ONE && c !== text.charCodeAt(at + i)) return false;
  }
  return true;
}

/** Leftmost index ≥ from (and ≤ limit - segment length) where the segment matches, or -1. */
function findSegment(text: string, from: number, limit: number, segment: string): number {
  if (!segment.includes('?')) {
    const at = text.indexOf(segment, from);
    return at !== -1 && at + segment.length <= limit ? at : -1;
  }
  for (let at = from; at + segment.length <= limit; at++) if (segmentAt(text, at, segment)) return at;
  return -1;
}

function matchGlob(glob: CompiledGlob, model: string): boolean {
  const { segments } = glob;
  const first = segments[0] as string;
  if (glob.exact) return first.length === model.length && segmentAt(model, 0, first);
  const last = segments[segments.length - 1] as string;
  if (first.length + last.length > model.length) return false;
  if (!segmentAt(model, 0, first) || !segmentAt(model, model.length - last.length, last)) return false;
  // Middle segments must fit between the prefix and the suffix, in order, without overlapping either.
  let at = first.length;
  const limit = model.length - last.length;
  for (let i = 1; i < segments.length - 1; i++) {
    const segment = segments[i] as string;
    if (segment === '') continue;
    const found = findSegment(model, at, limit, segment);
    if (found === -1) return false;
    at = found + segment.length;
  }
  return true;
}

export function compileModelGlobs(patterns: readonly string[]): ModelMatcher {
  if (patterns.length === 0) return { allows: () => true };
  const globs = patterns.map(compileGlob);
  return { allows: (model) => globs.some((glob) => matchGlob(glob, model)) };
}

export function matchesModelGlob(pattern: string, model: string): boolean {
  return matchGlob(compileGlob(pattern), model);
}
