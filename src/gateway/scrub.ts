import { EscapedSecretFinder, type Range } from './escaped-secrets.js';

/**
 * Removes upstream key material from everything that comes back from a provider: headers, buffered bodies, SSE
 * events and streamed bytes of any content type. Exact key strings are replaced everywhere, and so are escaped
 * forms (`\u0073k-…`, `\x73`, `%73k-…`, `&#115;`, `\/`) in text. In error bodies, anything shaped like a provider key (including
 * OpenAI's own `sk-proj-****abcd` echo) is replaced too, because even a partial echo tells the app which upstream
 * key the gateway holds.
 *
 * Cost for an ordinary response: one native `indexOf` per key, plus one for each escape introducer; the heavier
 * escaped-form scan only runs when the text has `\` or `%`, and is linear.
 */
const KEYISH = /\b(?:sk|rk)-[A-Za-z0-9_*.-]{3,}|\b[A-Fa-f0-9]{32}\b/g;
export const SCRUBBED = '[upstream key redacted]';
/** Secrets shorter than this are not treated as key material (they would redact ordinary text). */
const MIN_SECRET_LENGTH = 8;
const EMPTY = Buffer.alloc(0);
/** `&#` as bytes: a string needle would be encoded to UTF-8 (an allocation) on every search. */
const HTML_REFERENCE = Buffer.from('&#', 'latin1');

export interface Scrubber {
  /** Any successful text body or SSE event: exact and escaped keys. */
  any: (text: string) => string;
  /** Error bodies: also partial and masked echoes. */
  error: (text: string) => string;
  /** Response header values, rewritten in place in a `[name, value, name, value…]` list (headers.ts). */
  headerValues: (list: string[]) => void;
  /** A scrubber for a byte stream, holding back a short tail so a key split across chunks is still caught. */
  stream: (textLike: boolean) => StreamScrubber;
  /**
   * True when `any` would return this text body unchanged once decoded: no key bytes, and none of the bytes that
   * start an escaped form (`\`, `%`, `&#`). Such a body can be relayed as the bytes it came as.
   */
  clean: (body: Buffer) => boolean;
}

function splice(text: string, ranges: readonly Range[]): string {
  if (ranges.length === 0) return text;
  let out = '';
  let at = 0;
  for (const range of ranges) {
    out += text.slice(at, range.start) + SCRUBBED;
    at = range.end;
  }
  return out + text.slice(at);
}

class SecretSet {
  readonly exact: readonly string[];
  readonly exactBytes: readonly Buffer[];
  readonly escaped: EscapedSecretFinder;
  /** Bytes to hold back between chunks: one less than the longest form a key can take. */
  readonly textHold: number;
  readonly binaryHold: number;

  constructor(secrets: readonly string[]) {
    this.exact = [...new Set(secrets.filter((s) => s.length >= MIN_SECRET_LENGTH))];
    this.exactBytes = this.exact.map((s) => Buffer.from(s, 'latin1'));
    this.escaped = new EscapedSecretFinder(this.exact);
    const longest = this.exact.reduce((max, s) => Math.max(max, s.length), 0);
    this.textHold = Math.max(0, EscapedSecretFinder.encodedLength('x'.repeat(longest)) - 1);
    this.binaryHold = Math.max(0, longest - 1);
  }

  /** Exact and escaped secrets replaced. Keys are ASCII, so this works on UTF-16 text and latin1-decoded bytes alike. */
  scrubText(text: string): string {
    let out = text;
    for (const secret of this.exact) if (out.includes(secret)) out = out.split(secret).join(SCRUBBED);
    if (this.exact.length > 0 && (out.includes('\\') || out.includes('%') || out.includes('&#'))) out = splice(out, this.escaped.find(out));
    return out;
  }

  /** True when the bytes may hold a key (exactly, or escaped when text-like): the cheap check before any work. */
  mayHoldKey(data: Buffer, textLike: boolean): boolean {
    for (const secret of this.exactBytes) if (data.includes(secret)) return true;
    return textLike && this.exact.length > 0 && (data.includes(92 /* \ */) || data.includes(37 /* % */) || data.includes(HTML_REFERENCE));
  }
}

/**
 * Scrubs a byte stream chunk by chunk. Each chunk is joined to the tail held back from the previous one, scrubbed,
 * and all but a new tail is released: a key can only straddle two chunks within that tail, so it is always seen
 * whole. Non-text bodies (audio, images) are checked for the exact key only, which is all binary can echo.
 */
export class StreamScrubber {
  private tail: Buffer = EMPTY;
  private readonly hold: number;

  constructor(
    private readonly secrets: SecretSet,
    private readonly textLike: boolean,
  ) {
    this.hold = textLike ? secrets.textHold : secrets.binaryHold;
  }

  /** The bytes that are safe to send now (possibly none). */
  push(chunk: Buffer): Buffer {
    if (this.hold === 0) return chunk;
    let data = this.tail.length === 0 ? chunk : Buffer.concat([this.tail, chunk], this.tail.length + chunk.length);
    if (this.secrets.mayHoldKey(data, this.textLike)) {
      data = Buffer.from(this.secrets.scrubText(data.toString('latin1')), 'latin1');
    }
    if (data.length <= this.hold) {
      this.tail = data;
      return EMPTY;
    }
    // A copy: the tail must not pin the whole chunk (or undici's buffer) until the next one arrives.
    this.tail = Buffer.from(data.subarray(data.length - this.hold));
    return data.subarray(0, data.length - this.hold);
  }

  /** What is left when the stream ends. */
  end(): Buffer {
    const rest = this.tail;
    this.tail = EMPTY;
    if (rest.length === 0 || !this.secrets.mayHoldKey(rest, this.textLike)) return rest;
    return Buffer.from(this.secrets.scrubText(rest.toString('latin1')), 'latin1');
  }
}

export function createScrubber(secrets: readonly string[]): Scrubber {
  const set = new SecretSet(secrets);
  const any = (text: string): string => set.scrubText(text);
  return {
    any,
    error: (text) => {
      let out = set.scrubText(text);
      // Partial echoes may be escaped too (`\u0073k-proj-****abcd`): match them on the decoded form when present.
      if (out.includes('\\u') || out.includes('%')) out = decodeForKeyish(out);
      return out.replace(KEYISH, SCRUBBED);
    },
    headerValues: (list) => {
      if (set.exact.length === 0) return;
      for (let i = 1; i < list.length; i += 2) list[i] = set.scrubText(list[i] as string);
    },
    stream: (textLike) => new StreamScrubber(set, textLike),
    clean: (body) => !set.mayHoldKey(body, true),
  };
}

/**
 * Error bodies only: decodes `\uXXXX` and `%XX` escapes of ASCII letters, digits and key punctuation so KEYISH sees
 * a partial echo however it was escaped. The result is still valid JSON (the decoded characters need no escaping).
 */
function decodeForKeyish(text: string): string {
  return text
    .replace(/\\u00([0-7][0-9A-Fa-f])/g, (all, hex: string) => keyPunctuationOrAlnum(hex) ?? all)
    .replace(/%([0-7][0-9A-Fa-f])/g, (all, hex: string) => keyPunctuationOrAlnum(hex) ?? all);
}

function keyPunctuationOrAlnum(hex: string): string | null {
  const ch = String.fromCharCode(Number.parseInt(hex, 16));
  return /[A-Za-z0-9_*.-]/.test(ch) ? ch : null;
}
