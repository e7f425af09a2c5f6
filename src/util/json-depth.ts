/**
 * Whether JSON text nests objects/arrays deeper than `maxDepth`, found by one linear scan of the text (no parse,
 * no recursion). Deeply nested input parses fine in V8 but overflows the stack of every recursive consumer that
 * follows (validation, sanitizing, re-serializing), so it is refused before it is parsed. Malformed text is not
 * judged here; the parser reports it.
 */
export function exceedsJsonDepth(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > maxDepth) return true;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    }
  }
  return false;
}
