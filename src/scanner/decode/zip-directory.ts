import type { RandomAccess } from './random-access.js';

/** One entry of a zip's central directory: the authoritative list of members (local headers can lie). */
export interface ZipEntry {
  name: string;
  flags: number;
  method: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

export class ZipFormatError extends Error {}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const MAX_COMMENT = 0xffff;

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function u64(data: DataView, at: number): number {
  const value = data.getBigUint64(at, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipFormatError('zip64 value out of range');
  return Number(value);
}

/** Finds the end-of-central-directory record: the last one in the final 64 KiB + 22 bytes. */
function findEnd(access: RandomAccess): { directoryOffset: number; directorySize: number; entries: number } {
  const tailLength = Math.min(access.size, MAX_COMMENT + 22);
  const tailStart = access.size - tailLength;
  const tail = access.read(tailStart, tailLength);
  const data = view(tail);
  for (let i = tail.length - 22; i >= 0; i--) {
    if (data.getUint32(i, true) !== EOCD) continue;
    let entries = data.getUint16(i + 10, true);
    let directorySize = data.getUint32(i + 12, true);
    let directoryOffset = data.getUint32(i + 16, true);
    if (entries === 0xffff || directorySize === 0xffffffff || directoryOffset === 0xffffffff) {
      const locatorAt = tailStart + i - 20;
      if (locatorAt < 0) throw new ZipFormatError('zip64 locator missing');
      const locator = view(access.read(locatorAt, 20));
      if (locator.getUint32(0, true) !== ZIP64_LOCATOR) throw new ZipFormatError('zip64 locator missing');
      const record = view(access.read(u64(locator, 8), 56));
      if (record.byteLength < 56 || record.getUint32(0, true) !== ZIP64_EOCD) throw new ZipFormatError('zip64 record missing');
      entries = u64(record, 32);
      directorySize = u64(record, 40);
      directoryOffset = u64(record, 48);
    }
    return { directoryOffset, directorySize, entries };
  }
  throw new ZipFormatError('no end of central directory');
}

/** Sizes and offset above 4 GiB live in the zip64 extra field (id 1), in this order, only for fields set to ~0. */
function applyZip64(entry: ZipEntry, extra: DataView): void {
  for (let at = 0; at + 4 <= extra.byteLength; ) {
    const id = extra.getUint16(at, true);
    const size = extra.getUint16(at + 2, true);
    if (id === 1) {
      let field = at + 4;
      const take = (): number => {
        if (field + 8 > at + 4 + size || field + 8 > extra.byteLength) throw new ZipFormatError('short zip64 field');
        const value = u64(extra, field);
        field += 8;
        return value;
      };
      if (entry.uncompressedSize === 0xffffffff) entry.uncompressedSize = take();
      if (entry.compressedSize === 0xffffffff) entry.compressedSize = take();
      if (entry.localHeaderOffset === 0xffffffff) entry.localHeaderOffset = take();
      return;
    }
    at += 4 + size;
  }
}

/** Lists a zip's members from its central directory. Throws ZipFormatError on anything malformed. */
export function readZipDirectory(access: RandomAccess, maxEntries: number): ZipEntry[] {
  const end = findEnd(access);
  if (end.entries > maxEntries) throw new ZipFormatError(`more than ${maxEntries} entries`);
  if (end.directoryOffset + end.directorySize > access.size) throw new ZipFormatError('central directory out of bounds');
  const directory = access.read(end.directoryOffset, end.directorySize);
  const data = view(directory);
  const decoder = new TextDecoder('utf-8');
  const entries: ZipEntry[] = [];
  let at = 0;
  while (entries.length < end.entries && at + 46 <= directory.length) {
    if (data.getUint32(at, true) !== CENTRAL) throw new ZipFormatError('bad central directory entry');
    const nameLength = data.getUint16(at + 28, true);
    const extraLength = data.getUint16(at + 30, true);
    const commentLength = data.getUint16(at + 32, true);
    if (at + 46 + nameLength + extraLength > directory.length) throw new ZipFormatError('truncated central directory');
    const entry: ZipEntry = {
      name: decoder.decode(directory.subarray(at + 46, at + 46 + nameLength)),
      flags: data.getUint16(at + 8, true),
      method: data.getUint16(at + 10, true),
      compressedSize: data.getUint32(at + 20, true),
      uncompressedSize: data.getUint32(at + 24, true),
      localHeaderOffset: data.getUint32(at + 42, true),
    };
    applyZip64(entry, new DataView(directory.buffer, directory.byteOffset + at + 46 + nameLength, extraLength));
    entries.push(entry);
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** Where a member's compressed bytes start: after its local header, whose name and extra lengths may differ. */
export function memberDataOffset(access: RandomAccess, entry: ZipEntry): number {
  const header = access.read(entry.localHeaderOffset, 30);
  if (header.length < 30) throw new ZipFormatError('local header out of bounds');
  const data = view(header);
  if (data.getUint32(0, true) !== LOCAL) throw new ZipFormatError('bad local header');
  const start = entry.localHeaderOffset + 30 + data.getUint16(26, true) + data.getUint16(28, true);
  if (start + entry.compressedSize > access.size) throw new ZipFormatError('member data out of bounds');
  return start;
}
