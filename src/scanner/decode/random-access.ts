import { readSync } from 'node:fs';

/** Bytes that can be read at any offset: a buffer in memory or an open file. A zip is read from its end. */
export interface RandomAccess {
  readonly size: number;
  read(offset: number, length: number): Uint8Array;
}

export function bufferAccess(bytes: Uint8Array): RandomAccess {
  return {
    size: bytes.length,
    read: (offset, length) => bytes.subarray(offset, Math.min(bytes.length, offset + length)),
  };
}

/** Positional reads from an open file descriptor: a large zip is never loaded whole. */
export function fileAccess(fd: number, size: number): RandomAccess {
  return {
    size,
    read(offset, length) {
      const wanted = Math.max(0, Math.min(length, size - offset));
      const out = Buffer.allocUnsafe(wanted);
      let filled = 0;
      while (filled < wanted) {
        const n = readSync(fd, out, filled, wanted - filled, offset + filled);
        if (n === 0) break;
        filled += n;
      }
      return out.subarray(0, filled);
    },
  };
}
