/**
 * Finds a duplicated object key anywhere in a JSON text. `JSON.parse` keeps the last of two equal keys while some
 * upstream parsers keep the first, so a body with duplicates can make the provider see another model or output cap
 * than the gateway checked. One linear pass, no recursion (100k-deep input is fine): strings are skipped with
 * `indexOf`, and a key is decoded only when it contains an escape (`"mod\u0065l"` equals `"model"`).
 *
 * The text must already be valid JSON (run it after `JSON.parse`): the scanner tracks structure, not syntax.
 */

/** Keys of one open object: a short array first (most objects are small), a Set once it grows. */
type KeySet = string[] | Set<string>;
/** Past this many keys an object switches to a Set, so a 100k-key object stays linear. */
const SMALL_OBJECT = 8;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;

/** Index of the quote that closes the string opening at `start`. */
function stringEnd(text: string, start: number): number {
  let end = text.indexOf('"', start + 1);
  for (;;) {
    let backslashes = 0;
    for (let j = end - 1; text.charCodeAt(j) === BACKSLASH; j--) backslashes++;
    if (backslashes % 2 === 0) return end;
    end = text.indexOf('"', end + 1);
  }
}

/** The first key that appears twice in one object, or null. */
export function findDuplicateKey(text: string): string | null {
  // One entry per open container: the object's keys, or null for an array.
  const stack: Array<KeySet | null> = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === QUOTE) {
      const end = stringEnd(text, i);
      if (expectKey) {
        const raw = text.slice(i + 1, end);
        const key = raw.includes('\\') ? (JSON.parse(text.slice(i, end + 1)) as string) : raw;
        const top = stack.length - 1;
        const keys = stack[top] as KeySet;
        if (Array.isArray(keys)) {
          if (keys.includes(key)) return key;
          keys.push(key);
          if (keys.length > SMALL_OBJECT) stack[top] = new Set(keys);
        } else {
          if (keys.has(key)) return key;
          keys.add(key);
        }
        expectKey = false;
      }
      i = end;
    } else if (ch === OPEN_OBJECT) {
      stack.push([]);
      expectKey = true;
    } else if (ch === OPEN_ARRAY) {
      stack.push(null);
    } else if (ch === CLOSE_OBJECT || ch === CLOSE_ARRAY) {
      stack.pop();
      expectKey = false;
    } else if (ch === COMMA) {
      expectKey = stack[stack.length - 1] !== null && stack.length > 0;
    }
  }
  return null;
}
