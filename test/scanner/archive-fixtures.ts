import { crc32 } from 'node:zlib';
import { Deflate, Zip, type ZipInputFile } from 'fflate';

function concat(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.concat(parts));
}

/**
 * A zip holding one member of `mebibytes` MiB of zeros, deflated with fflate's streaming Deflate. Deflating 1 GiB
 * takes fflate ~40 s, so only two MiB are deflated: the second MiB, sync-flushed to a byte boundary, is a segment
 * that decodes to one MiB of zeros after any window of zeros, so it is repeated. The result is a valid ~1 MB zip
 * that inflates to exactly `mebibytes` MiB (CRC included); the test checks that with zlib.
 */
export function zeroBombZip(mebibytes = 1024, name = 'zeros.bin'): Uint8Array {
  const MIB = 1024 * 1024;
  const zeros = new Uint8Array(MIB);
  let out: Uint8Array[] = [];
  const deflate = new Deflate({ level: 9 }, (chunk) => out.push(chunk));
  const take = (): Uint8Array<ArrayBuffer> => {
    const bytes = concat(out);
    out = [];
    return bytes;
  };
  deflate.push(zeros);
  deflate.flush(true);
  const first = take();
  deflate.push(zeros);
  deflate.flush(true);
  const steady = take();
  deflate.push(new Uint8Array(0), true);
  const tail = take();

  let crc = 0;
  for (let i = 0; i < mebibytes; i++) crc = crc32(zeros, crc);
  const zipped: Uint8Array[] = [];
  const zip = new Zip((err, chunk) => {
    if (err) throw err;
    zipped.push(chunk);
  });
  const member: ZipInputFile = { filename: name, size: mebibytes * MIB, crc, compression: 8 };
  zip.add(member);
  const push = member.ondata;
  if (push === undefined) throw new Error('fflate did not attach ondata');
  push(null, first, false);
  for (let i = 1; i < mebibytes; i++) push(null, steady, false);
  push(null, tail, true);
  zip.end();
  return concat(zipped);
}

/** Marks every member of a zip as encrypted (general purpose flag bit 0), in local headers and central directory. */
export function markEncrypted(zip: Uint8Array): Uint8Array {
  const out = Buffer.from(zip);
  for (let i = 0; i + 4 <= out.length; i++) {
    const signature = out.readUInt32LE(i);
    if (signature === 0x04034b50) out.writeUInt16LE(out.readUInt16LE(i + 6) | 1, i + 6);
    else if (signature === 0x02014b50) out.writeUInt16LE(out.readUInt16LE(i + 8) | 1, i + 8);
  }
  return out;
}
