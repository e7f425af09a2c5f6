/** ASCII membership table for a single-character class, so hot loops test a byte instead of running a regex. */
export function charTable(charClass: RegExp): Uint8Array {
  const table = new Uint8Array(128);
  for (let code = 0; code < 128; code++) if (charClass.test(String.fromCharCode(code))) table[code] = 1;
  return table;
}

/** Membership test. The bounds check keeps V8 on its fast path: out-of-range typed-array reads deoptimize. */
export function inTable(table: Uint8Array, code: number): boolean {
  return code < 128 && table[code] === 1;
}

export const ALNUM = charTable(/[A-Za-z0-9]/);
export const TOKEN_TABLE = charTable(/[A-Za-z0-9_-]/);
const HEX = charTable(/[0-9A-Fa-f]/);

/**
 * May a key start at `pos`? Yes after anything but a letter or digit, and also right after an escape that ends in
 * one: `%22` (URL-encoded quote), `\n` / `\t` / `\r` (JSON or notebook strings), `\u0022` and `\x22`.
 */
export function keyMayStartAt(text: string, pos: number): boolean {
  if (pos === 0) return true;
  const prev = text.charCodeAt(pos - 1);
  if (!inTable(ALNUM, prev)) return true;
  if (pos >= 2 && text.charCodeAt(pos - 2) === 0x5c && (prev === 0x6e || prev === 0x72 || prev === 0x74)) return true;
  if (pos >= 3 && text.charCodeAt(pos - 3) === 0x25 && inTable(HEX, text.charCodeAt(pos - 2)) && inTable(HEX, prev)) {
    return true;
  }
  if (pos >= 4 && text.charCodeAt(pos - 4) === 0x5c && text.charCodeAt(pos - 3) === 0x78) return true;
  if (pos >= 6 && text.charCodeAt(pos - 6) === 0x5c && text.charCodeAt(pos - 5) === 0x75) return true;
  return false;
}

/**
 * Starts of standalone runs of exactly `length` characters from `table` that begin in [from, to): not preceded by
 * a token character (escapes excepted, as in keyMayStartAt) and not followed by one. Checks the last character of
 * each window first and skips past any miss, so it crosses ordinary text without looking at every character.
 */
export function findTokenRuns(text: string, from: number, to: number, table: Uint8Array, length: number): number[] {
  const starts: number[] = [];
  let i = from;
  while (i < to && i + length <= text.length) {
    let j = i + length - 1;
    while (j >= i && inTable(table, text.charCodeAt(j))) j--;
    if (j >= i) {
      i = j + 1;
      continue;
    }
    let end = i + length;
    while (end < text.length && inTable(table, text.charCodeAt(end))) end++;
    // i is the start of a maximal run only if the character before is not in the class either.
    const maximal = i === 0 || !inTable(table, text.charCodeAt(i - 1));
    if (maximal && !inTable(TOKEN_TABLE, text.charCodeAt(end))) {
      const start = end - length;
      const standalone = start === i && (i === 0 || !inTable(TOKEN_TABLE, text.charCodeAt(i - 1)));
      const tail = escapeTail(text, i);
      if (standalone || (tail > 0 && start === i + tail)) starts.push(start);
    }
    i = end + 1;
  }
  return starts;
}

/**
 * Length of an escape's letters and digits at the start of a run: `%22` leaves `22`, `\n` leaves `n`, `\u0022`
 * leaves `u0022`, `\x22` leaves `x22`. A token right after such an escape still stands alone.
 */
function escapeTail(text: string, pos: number): number {
  const prev = text.charCodeAt(pos - 1);
  const hexAt = (k: number): boolean => inTable(HEX, text.charCodeAt(pos + k));
  if (prev === 0x25) return hexAt(0) && hexAt(1) ? 2 : 0;
  if (prev !== 0x5c) return 0;
  const first = text.charCodeAt(pos);
  if (first === 0x6e || first === 0x72 || first === 0x74) return 1;
  if (first === 0x75) return hexAt(1) && hexAt(2) && hexAt(3) && hexAt(4) ? 5 : 0;
  if (first === 0x78) return hexAt(1) && hexAt(2) ? 3 : 0;
  return 0;
}
