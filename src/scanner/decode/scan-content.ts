import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { scanBytes } from '../engine/engine.js';
import type { ScanTextOptions } from '../types.js';
import { openContent, sinkFor } from './content-stream.js';
import { ArchiveBudget } from './limits.js';
import { bufferAccess, fileAccess } from './random-access.js';
import { emptyResult, recordSkip, type ByteSink, type ContentPlace, type ContentResult } from './sink.js';
import { sniffContent, SNIFF_BYTES } from './sniff.js';
import { WINDOW_CHARS } from './window-scanner.js';
import { scanZip } from './zip-reader.js';

/** Bytes read from a large file at once. */
const READ_CHUNK = 1024 * 1024;

export interface ContentScanOptions {
  text: ScanTextOptions;
  /** The user's `--max-file-size`; no cap when undefined. */
  maxFileSize?: number | undefined;
}

function topPlace(path: string, options: ContentScanOptions): ContentPlace {
  return { path, depth: 0, budget: undefined, options: options.text, result: emptyResult(path) };
}

async function feed(sink: ByteSink, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.length; offset += READ_CHUNK) await sink.write(bytes.subarray(offset, offset + READ_CHUNK));
  await sink.end();
}

/**
 * Scans content held in memory (a small file, a git blob). Plain text that fits one window takes the engine's
 * direct path, synchronously, as before; anything else (other encodings, archives, large text) is decoded.
 */
export function scanContentBuffer(bytes: Uint8Array, path: string, options: ContentScanOptions): ContentResult | Promise<ContentResult> {
  const place = topPlace(path, options);
  place.result.bytes = bytes.length;
  const head = bytes.subarray(0, SNIFF_BYTES);
  const kind = sniffContent(head);
  if (kind === 'text' && bytes.length <= WINDOW_CHARS) {
    const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    place.result.findings = scanBytes(buffer, { ...options.text, path });
    return place.result;
  }
  if (kind === 'binary') {
    recordSkip(place, { path, reason: 'binary' });
    return place.result;
  }
  if (kind === 'zip') {
    return scanZip(bufferAccess(bytes), { ...place, budget: new ArchiveBudget() }, openContent).then(() => place.result);
  }
  return feed(sinkFor(kind, head, place), bytes).then(() => place.result);
}

async function streamFile(fd: number, size: number, place: ContentPlace): Promise<ContentResult> {
  const head = Buffer.allocUnsafe(Math.min(SNIFF_BYTES, size));
  const headLength = readSync(fd, head, 0, head.length, 0);
  const kind = sniffContent(head.subarray(0, headLength));
  if (kind === 'zip') {
    // Read from its end by position: a large zip is never loaded whole.
    await scanZip(fileAccess(fd, size), { ...place, budget: new ArchiveBudget() }, openContent);
    return place.result;
  }
  const sink = sinkFor(kind, head.subarray(0, headLength), place);
  if (kind === 'binary') return place.result;
  const chunk = Buffer.allocUnsafe(READ_CHUNK);
  for (let position = 0; ; ) {
    const n = readSync(fd, chunk, 0, READ_CHUNK, position);
    if (n === 0) break;
    position += n;
    // Sinks may keep what they are given (decoded text does not alias it; sniffing and zips copy).
    await sink.write(chunk.subarray(0, n));
  }
  await sink.end();
  return place.result;
}

/**
 * Scans one file of any size. Files that fit one window are read whole; larger ones stream through the decoders
 * in bounded memory. Returns synchronously when it can (plain small text), so the common case costs no promise.
 */
export function scanContentFile(absolute: string, path: string, options: ContentScanOptions): ContentResult | Promise<ContentResult> {
  const place = topPlace(path, options);
  let fd: number;
  let size: number;
  try {
    fd = openSync(absolute, 'r');
  } catch {
    recordSkip(place, { path, reason: 'unreadable' });
    return place.result;
  }
  let async = false;
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) throw new Error('not a regular file');
    size = info.size;
    place.result.bytes = size;
    if (options.maxFileSize !== undefined && size > options.maxFileSize) {
      recordSkip(place, { path, reason: 'tooLarge', detail: `larger than the size limit (${options.maxFileSize} bytes)` });
      return place.result;
    }
    if (size <= WINDOW_CHARS) {
      const bytes = Buffer.allocUnsafe(size);
      let filled = 0;
      while (filled < size) {
        const n = readSync(fd, bytes, filled, size - filled, filled);
        if (n === 0) break;
        filled += n;
      }
      return scanContentBuffer(bytes.subarray(0, filled), path, options);
    }
    async = true;
    const descriptor = fd;
    return streamFile(descriptor, size, place).then(
      (result) => {
        closeSync(descriptor);
        return result;
      },
      (err: unknown) => {
        closeSync(descriptor);
        throw err;
      },
    );
  } catch {
    recordSkip(place, { path, reason: 'unreadable' });
    return place.result;
  } finally {
    if (!async) closeSync(fd);
  }
}
