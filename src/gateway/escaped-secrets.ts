/**
 * Finds secrets written in escaped form: JSON `\u0073k-…` (any character, any hex case), JSON `\/`, `\x73`, URL
 * percent-encoding `%73k-…` and HTML character references (`&#115;`, `&#x73;`), or any mix of those with plain
 * characters. A hostile or careless upstream can echo a
 * key that way and the client decodes it back to the key.
 *
 * Linear and allocation-free for text without escapes: the caller only comes here when the text contains `\` or
 * `%`. The scan looks at "runs": maximal stretches of characters that are, or decode to, characters that occur in
 * some secret. Only a run that holds an escape and is long enough is decoded (into a small buffer of its own), so a
 * large body costs one pass plus work proportional to its escaped key-like runs.
 */
export interface Range {
  start: number;
  end: number;
}

const BACKSLASH = 92;
const PERCENT = 37;
const AMPERSAND = 38;
/** `&#x` + at most this many digits + `;`: longer references (leading zeros) are not decoded. */
const MAX_REFERENCE_DIGITS = 7;

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** The smaller of two positions, where -1 means "none". */
function firstOf(a: number, b: number): number {
  return a === -1 ? b : b === -1 ? a : Math.min(a, b);
}

/** String.fromCharCode in slices: spreading a long run as arguments would overflow the stack. */
function fromCodes(codes: readonly number[]): string {
  let out = '';
  for (let i = 0; i < codes.length; i += 4096) out += String.fromCharCode(...codes.slice(i, i + 4096));
  return out;
}

export class EscapedSecretFinder {
  /** Character codes that occur in at least one secret. */
  private readonly keyChars: Uint8Array;
  private readonly minLength: number;

  constructor(private readonly secrets: readonly string[]) {
    this.keyChars = new Uint8Array(128);
    for (const secret of secrets) for (let i = 0; i < secret.length; i++) this.keyChars[secret.charCodeAt(i) & 127] = 1;
    this.minLength = secrets.reduce((min, s) => Math.min(min, s.length), Infinity);
  }

  /** Longest form a secret can take in text: every character as the longest escape, `&#x0000073;`. */
  static encodedLength(secret: string): number {
    return secret.length * (MAX_REFERENCE_DIGITS + 4);
  }

  private isKeyChar(c: number): boolean {
    return c < 128 && this.keyChars[c] === 1;
  }

  /**
   * Decodes one escaped character at `at`: returns [decoded code, length] or null when the text at `at` is not an
   * escape for a key character.
   */
  private escapeAt(text: string, at: number): [number, number] | null {
    const c = text.charCodeAt(at);
    if (c === BACKSLASH) {
      const next = text.charCodeAt(at + 1);
      if (next === 117 /* u */) {
        let code = 0;
        for (let i = 2; i < 6; i++) {
          const h = hexValue(text.charCodeAt(at + i));
          if (h === -1) return null;
          code = code * 16 + h;
        }
        return this.isKeyChar(code) ? [code, 6] : null;
      }
      if (next === 120 /* x */) {
        const hi = hexValue(text.charCodeAt(at + 2));
        const lo = hexValue(text.charCodeAt(at + 3));
        if (hi === -1 || lo === -1) return null;
        const code = hi * 16 + lo;
        return this.isKeyChar(code) ? [code, 4] : null;
      }
      if (next === 47 /* / */ && this.isKeyChar(47)) return [47, 2];
      return null;
    }
    if (c === AMPERSAND) return this.referenceAt(text, at);
    if (c === PERCENT) {
      const hi = hexValue(text.charCodeAt(at + 1));
      const lo = hexValue(text.charCodeAt(at + 2));
      if (hi === -1 || lo === -1) return null;
      const code = hi * 16 + lo;
      return this.isKeyChar(code) ? [code, 3] : null;
    }
    return null;
  }

  /** An HTML character reference `&#115;` or `&#x73;` for a key character at `at`. */
  private referenceAt(text: string, at: number): [number, number] | null {
    if (text.charCodeAt(at + 1) !== 35 /* # */) return null;
    const hex = (text.charCodeAt(at + 2) | 32) === 120; /* x or X */
    let i = at + (hex ? 3 : 2);
    const digitsStart = i;
    let code = 0;
    for (; i - digitsStart < MAX_REFERENCE_DIGITS; i++) {
      const ch = text.charCodeAt(i);
      const digit = hex ? hexValue(ch) : ch >= 48 && ch <= 57 ? ch - 48 : -1;
      if (digit === -1) break;
      code = code * (hex ? 16 : 10) + digit;
    }
    if (i === digitsStart || text.charCodeAt(i) !== 59 /* ; */) return null;
    return this.isKeyChar(code) ? [code, i + 1 - at] : null;
  }

  /** Ranges of `text` (sorted, disjoint) that decode to a secret and contain at least one escape. */
  find(text: string): Range[] {
    const found: Range[] = [];
    if (this.secrets.length === 0) return found;
    const n = text.length;
    let scannedTo = 0; // runs never start before the end of the previous one: each character is visited O(1) times
    // Jump between escape introducers with indexOf (native) instead of visiting every character in JS.
    let nextBackslash = text.indexOf('\\');
    let nextPercent = text.indexOf('%');
    let nextAmpersand = text.indexOf('&#');
    while (nextBackslash !== -1 || nextPercent !== -1 || nextAmpersand !== -1) {
      const i = firstOf(firstOf(nextBackslash, nextPercent), nextAmpersand);
      let resume = i + 1;
      if (this.escapeAt(text, i) !== null) {
        let start = i;
        while (start > scannedTo && this.isKeyChar(text.charCodeAt(start - 1))) start--;
        const decoded: number[] = [];
        const offsets: number[] = [];
        let at = start;
        while (at < n) {
          const code = text.charCodeAt(at);
          if (code !== PERCENT && code !== BACKSLASH && code !== AMPERSAND && this.isKeyChar(code)) {
            decoded.push(code);
            offsets.push(at);
            at++;
            continue;
          }
          const escape = this.escapeAt(text, at);
          if (escape === null) break;
          decoded.push(escape[0]);
          offsets.push(at);
          at += escape[1];
        }
        offsets.push(at);
        scannedTo = at;
        resume = Math.max(resume, at);
        if (decoded.length >= this.minLength) {
          const before = found.length;
          this.matchRun(fromCodes(decoded), offsets, found);
          for (let f = before; f < found.length; f++) this.takeEscapingBackslash(text, found[f] as Range, found[f - 1]);
        }
      }
      if (nextBackslash !== -1 && nextBackslash < resume) nextBackslash = text.indexOf('\\', resume);
      if (nextPercent !== -1 && nextPercent < resume) nextPercent = text.indexOf('%', resume);
      if (nextAmpersand !== -1 && nextAmpersand < resume) nextAmpersand = text.indexOf('&#', resume);
    }
    return found;
  }

  /**
   * A match that starts at a backslash which is itself escaped (`\\u0073k-…` is the text `\u0073k-…`, the key less
   * its first letter) is still redacted, but from the escaping backslash: redacting from the second one would leave
   * a lone `\` before the redaction, and the JSON around it would no longer parse.
   */
  private takeEscapingBackslash(text: string, range: Range, previous: Range | undefined): void {
    if (text.charCodeAt(range.start) !== BACKSLASH) return;
    let backslashes = 0;
    for (let j = range.start - 1; j >= 0 && text.charCodeAt(j) === BACKSLASH; j--) backslashes++;
    if (backslashes % 2 === 1 && range.start - 1 >= (previous?.end ?? 0)) range.start--;
  }

  private matchRun(run: string, offsets: number[], found: Range[]): void {
    const hits: Range[] = [];
    for (const secret of this.secrets) {
      for (let at = run.indexOf(secret); at !== -1; at = run.indexOf(secret, at + secret.length)) {
        hits.push({ start: offsets[at] as number, end: offsets[at + secret.length] as number });
      }
    }
    hits.sort((a, b) => a.start - b.start);
    for (const hit of hits) {
      const last = found[found.length - 1];
      if (last && hit.start < last.end) last.end = Math.max(last.end, hit.end);
      else found.push(hit);
    }
  }
}
