/**
 * Whether a base64 run is worth decoding. Most long base64 runs in real trees are binary: integrity hashes in
 * lockfiles, images and fonts in data URIs and bundles, compressed blobs. Decoding them (and testing the result
 * for text) was a measurable share of a scan, and a key is never found there. The first 8 characters decode to
 * 6 bytes without decoding the rest: random bytes are all printable with a probability of (98/256)^6 ≈ 0.3 %, so
 * binary runs are dropped at once, and a run is decoded only when its decoded start can begin a key (a letter or
 * a digit, as every supported key does) or the text just before it names a secret, an auth or a config (base64 of
 * a JSON document or an env file, such as `.dockerconfigjson`).
 */

const VALUES = new Int8Array(128).fill(-1);
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
for (let i = 0; i < ALPHABET.length; i++) VALUES[ALPHABET.charCodeAt(i)] = i;

/** How far before a run its context (the key's name) is looked for. */
const CONTEXT_CHARS = 200;
const SECRET_CONTEXT = /secret|auth|config|key|token|passw|credential|bearer|basic|env|cred|private/i;

function value(text: string, at: number): number {
  const code = text.charCodeAt(at);
  return code < 128 ? (VALUES[code] as number) : -1;
}

function printable(byte: number): boolean {
  return (byte >= 0x20 && byte < 0x7f) || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

function alphanumeric(byte: number): boolean {
  return (byte >= 0x30 && byte <= 0x39) || ((byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7a);
}

/** 'binary' when the first 6 decoded bytes are not all text; 'key' when the first can start a key; else 'text'. */
export function decodedStart(text: string, at: number): 'binary' | 'key' | 'text' {
  let first = -1;
  for (let group = 0; group < 2; group++) {
    const base = at + group * 4;
    const a = value(text, base);
    const b = value(text, base + 1);
    const c = value(text, base + 2);
    const d = value(text, base + 3);
    if (a < 0 || b < 0 || c < 0 || d < 0) return 'binary';
    const bytes = [(a << 2) | (b >> 4), ((b & 15) << 4) | (c >> 2), ((c & 3) << 6) | d];
    for (const byte of bytes) if (!printable(byte)) return 'binary';
    if (group === 0) first = bytes[0] as number;
  }
  return alphanumeric(first) ? 'key' : 'text';
}

/** Decide before any decoding whether the base64 run [start, end) of `text` can hold a key. */
export function worthDecoding(text: string, start: number, end: number, lineStart: number): boolean {
  // decodeBase64Run also tries the run without a leading `+` or `/` (a path or an operator glued to the blob).
  let from = start;
  while (from < end && (text.charCodeAt(from) === 0x2b || text.charCodeAt(from) === 0x2f)) from++;
  const kinds = from === start ? [decodedStart(text, start)] : [decodedStart(text, start), decodedStart(text, from)];
  if (kinds.includes('key')) return true;
  if (!kinds.includes('text')) return false;
  return SECRET_CONTEXT.test(text.slice(Math.max(lineStart, start - CONTEXT_CHARS), start));
}
