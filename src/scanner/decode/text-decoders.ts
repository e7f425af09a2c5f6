import type { ContentKind } from './sniff.js';

/** Turns a byte stream into text piece by piece; a character split across chunks is carried to the next one. */
export interface StreamingTextDecoder {
  decode(chunk: Uint8Array): string;
  end(): string;
}

/**
 * Keys are ASCII, so plain text is read as latin1: one byte per character, several times faster than UTF-8
 * decoding (the engine corrects the columns of findings on lines with non-ASCII bytes afterwards).
 */
class Latin1Decoder implements StreamingTextDecoder {
  decode(chunk: Uint8Array): string {
    return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('latin1');
  }

  end(): string {
    return '';
  }
}

/** Decoders for fixed-width units (2 or 4 bytes) that keep the incomplete tail of a chunk for the next one. */
abstract class UnitDecoder implements StreamingTextDecoder {
  private carry: Uint8Array = new Uint8Array(0);

  constructor(private readonly unit: number) {}

  protected abstract convert(bytes: Uint8Array): string;

  decode(chunk: Uint8Array): string {
    let bytes = chunk;
    if (this.carry.length > 0) {
      bytes = new Uint8Array(this.carry.length + chunk.length);
      bytes.set(this.carry);
      bytes.set(chunk, this.carry.length);
    }
    const whole = bytes.length - (bytes.length % this.unit);
    this.carry = bytes.slice(whole);
    return this.convert(bytes.subarray(0, whole));
  }

  end(): string {
    // A trailing odd byte is not a character; it cannot hold a key either.
    this.carry = new Uint8Array(0);
    return '';
  }
}

class Utf16Decoder extends UnitDecoder {
  /** A high surrogate at the end of a chunk waits for its low half. */
  private pendingHigh = '';

  constructor(private readonly bigEndian: boolean) {
    super(2);
  }

  protected convert(bytes: Uint8Array): string {
    let buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (this.bigEndian) buffer = Buffer.from(buffer).swap16();
    let text = this.pendingHigh + buffer.toString('utf16le');
    this.pendingHigh = '';
    const last = text.charCodeAt(text.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) {
      this.pendingHigh = text.slice(-1);
      text = text.slice(0, -1);
    }
    return text;
  }

  override end(): string {
    const rest = this.pendingHigh;
    this.pendingHigh = '';
    super.end();
    return rest;
  }
}

/** UTF-32 has no decoder in WHATWG TextDecoder; it is rare enough that a loop over code points is fine. */
class Utf32Decoder extends UnitDecoder {
  constructor(private readonly bigEndian: boolean) {
    super(4);
  }

  protected convert(bytes: Uint8Array): string {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const parts: string[] = [];
    let codes: number[] = [];
    for (let i = 0; i + 4 <= bytes.length; i += 4) {
      const code = view.getUint32(i, !this.bigEndian);
      codes.push(code <= 0x10ffff && (code < 0xd800 || code > 0xdfff) ? code : 0xfffd);
      if (codes.length === 8192) {
        parts.push(String.fromCodePoint(...codes));
        codes = [];
      }
    }
    if (codes.length > 0) parts.push(String.fromCodePoint(...codes));
    return parts.join('');
  }
}

/** Number of BOM bytes to drop for each text kind. */
export function bomLength(kind: ContentKind): number {
  if (kind === 'utf8-bom') return 3;
  if (kind === 'utf16le' || kind === 'utf16be') return 0; // Checked on the bytes: the BOM is optional for UTF-16.
  if (kind === 'utf32le' || kind === 'utf32be') return 4;
  return 0;
}

/** BOM bytes at the start of UTF-16 content, when present (UTF-16 is also detected without one). */
export function utf16BomLength(head: Uint8Array, kind: ContentKind): number {
  if (kind === 'utf16le' && head[0] === 0xff && head[1] === 0xfe) return 2;
  if (kind === 'utf16be' && head[0] === 0xfe && head[1] === 0xff) return 2;
  return 0;
}

export function decoderFor(kind: ContentKind): StreamingTextDecoder {
  switch (kind) {
    case 'utf16le':
      return new Utf16Decoder(false);
    case 'utf16be':
      return new Utf16Decoder(true);
    case 'utf32le':
      return new Utf32Decoder(false);
    case 'utf32be':
      return new Utf32Decoder(true);
    default:
      return new Latin1Decoder();
  }
}

/** Whether columns of this kind's text need the UTF-8 correction (latin1-read UTF-8). */
export function readAsLatin1(kind: ContentKind): boolean {
  return kind === 'text' || kind === 'utf8-bom';
}
