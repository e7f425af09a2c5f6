/** What a file's first bytes say it is. */
export type ContentKind =
  | 'gzip'
  | 'zip'
  | 'tar'
  | 'text'
  | 'utf8-bom'
  | 'utf16le'
  | 'utf16be'
  | 'utf32le'
  | 'utf32be'
  | 'binary';

/** Bytes to look at before deciding: git's binary test looks for a NUL in the first 8,000 bytes. */
export const SNIFF_BYTES = 8000;

function startsWith(bytes: Uint8Array, ...prefix: number[]): boolean {
  if (bytes.length < prefix.length) return false;
  return prefix.every((byte, i) => bytes[i] === byte);
}

function isTarHeader(bytes: Uint8Array): boolean {
  if (bytes.length < 512) return false;
  // POSIX `ustar\0` and old GNU `ustar  \0`.
  const magic = String.fromCharCode(...bytes.subarray(257, 262));
  if (magic !== 'ustar') return false;
  // The checksum field makes a text file that happens to hold "ustar" at 257 not a tar.
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : (bytes[i] ?? 0);
  const stored = parseInt(String.fromCharCode(...bytes.subarray(148, 156)).replace(/[\0 ]+$/g, '').trim(), 8);
  return stored === sum;
}

/**
 * UTF-16 without a BOM (PowerShell's `Out-File` on Windows PowerShell 5 writes it with one, many tools without):
 * ASCII text has a NUL in every other byte. More than 3 in 10 NULs on one parity and almost none on the other
 * is a strong signal that random binary data does not give.
 */
function utf16WithoutBom(head: Uint8Array): 'utf16le' | 'utf16be' | undefined {
  const sample = head.subarray(0, 1024);
  const pairs = Math.floor(sample.length / 2);
  if (pairs < 8) return undefined; // Too short to tell from a small binary blob.
  let evenNul = 0;
  let oddNul = 0;
  let evenPrintable = 0;
  let oddPrintable = 0;
  for (let i = 0; i + 1 < sample.length; i += 2) {
    const even = sample[i] ?? 0;
    const odd = sample[i + 1] ?? 0;
    if (even === 0) evenNul++;
    else if (printableAscii(even)) evenPrintable++;
    if (odd === 0) oddNul++;
    else if (printableAscii(odd)) oddPrintable++;
  }
  // The other parity carries the characters: mostly printable ASCII, or it is not text.
  if (oddNul > pairs * 0.3 && evenNul <= pairs * 0.02 && evenPrintable >= (pairs - evenNul) * 0.9) return 'utf16le';
  if (evenNul > pairs * 0.3 && oddNul <= pairs * 0.02 && oddPrintable >= (pairs - oddNul) * 0.9) return 'utf16be';
  return undefined;
}

function printableAscii(byte: number): boolean {
  return (byte >= 0x20 && byte < 0x7f) || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

function hasNul(head: Uint8Array): boolean {
  return head.subarray(0, SNIFF_BYTES).includes(0);
}

/**
 * Decides how to read content from its first bytes (at most SNIFF_BYTES, fewer for short content). Magic bytes
 * win over names: a `.txt` that is gzip is unpacked, a `.gz` that is text is read as text.
 */
export function sniffContent(head: Uint8Array): ContentKind {
  if (startsWith(head, 0x1f, 0x8b)) return 'gzip';
  if (startsWith(head, 0x50, 0x4b, 0x03, 0x04) || startsWith(head, 0x50, 0x4b, 0x05, 0x06)) return 'zip';
  // UTF-32 before UTF-16: the UTF-32LE BOM begins with the UTF-16LE one.
  if (startsWith(head, 0xff, 0xfe, 0x00, 0x00)) return 'utf32le';
  if (startsWith(head, 0x00, 0x00, 0xfe, 0xff)) return 'utf32be';
  if (startsWith(head, 0xff, 0xfe)) return 'utf16le';
  if (startsWith(head, 0xfe, 0xff)) return 'utf16be';
  if (startsWith(head, 0xef, 0xbb, 0xbf)) return 'utf8-bom';
  if (isTarHeader(head)) return 'tar';
  if (!hasNul(head)) return 'text';
  return utf16WithoutBom(head) ?? 'binary';
}
