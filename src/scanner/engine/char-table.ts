/** ASCII membership table for a single-character class, so hot loops test a byte instead of running a regex. */
export function charTable(charClass: RegExp): Uint8Array {
  const table = new Uint8Array(128);
  for (let code = 0; code < 128; code++) if (charClass.test(String.fromCharCode(code))) table[code] = 1;
  return table;
}

export function inTable(table: Uint8Array, code: number): boolean {
  return code < 128 && table[code] === 1;
}

const ALNUM = charTable(/[A-Za-z0-9]/);
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
