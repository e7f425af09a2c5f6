/**
 * OpenAI shows a key only as `redacted_value`, e.g. `sk-abc...wxyz` or `sk-proj-****wxyz`: a visible prefix, a run of
 * mask characters, a visible suffix. A full secret matches when it has that prefix and that suffix and is longer
 * than both together. A redacted value without a mask run, or with fewer than 4 visible characters after the
 * mask, says too little to identify anything and matches nothing.
 */
export interface RedactedPattern {
  prefix: string;
  suffix: string;
}

const MASK_RUN = /[.*…•]{1,}/u;

export function parseRedacted(redacted: string): RedactedPattern | null {
  const match = MASK_RUN.exec(redacted);
  if (!match) return null;
  const prefix = redacted.slice(0, match.index);
  const suffix = redacted.slice(match.index + match[0].length);
  if (suffix.length < 4 || MASK_RUN.test(suffix) || prefix.length === 0) return null;
  return { prefix, suffix };
}

export function matchesRedacted(secret: string, pattern: RedactedPattern | null): boolean {
  if (pattern === null) return false;
  return secret.length > pattern.prefix.length + pattern.suffix.length && secret.startsWith(pattern.prefix) && secret.endsWith(pattern.suffix);
}
