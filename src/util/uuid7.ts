import { randomFillSync } from 'node:crypto';

/**
 * RFC 9562 UUID version 7: a 48-bit Unix-millisecond timestamp followed by 74 random bits.
 *
 * Usage records are keyed by id. With random (v4) ids every insert lands on a random page of the primary-key
 * index, so each batch dirties (and fsyncs, at synchronous=FULL) about one index page per record, and the cost
 * grows with the table. Time-ordered ids append to the index instead: a batch touches a handful of pages.
 */
const IDS_PER_FILL = 256;
const pool = Buffer.alloc(16 * IDS_PER_FILL);
let offset = pool.length;
const MAX_MS = 2 ** 48 - 1;

export function uuid7(ms: number = Date.now()): string {
  // Random bytes are drawn in bulk: one CSPRNG call per 256 ids rather than one per id.
  if (offset === pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const bytes = pool.subarray(offset, offset + 16);
  offset += 16;
  bytes.writeUIntBE(Math.min(Math.max(Math.floor(ms), 0), MAX_MS), 0, 6);
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x70; // version 7
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80; // RFC 9562 variant
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
