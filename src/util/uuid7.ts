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
/** The two ASCII hex digits of each byte value, as one 16-bit pair (high digit first in memory). */
const HEX_PAIRS = Uint16Array.from({ length: 256 }, (_, byte) => {
  const digits = byte.toString(16).padStart(2, '0');
  return digits.charCodeAt(0) | (digits.charCodeAt(1) << 8);
});
/** Where each of the 16 bytes' two digits go in the 36-character text (dashes at 8, 13, 18 and 23). */
const TEXT_AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
const text = Buffer.from('00000000-0000-0000-0000-000000000000', 'latin1');

/**
 * The id as one flat string, built from a table into a reused buffer and decoded once: hex-encoding the bytes and
 * joining five slices made a rope string, which SQLite's binding then had to flatten again, for every request.
 */
export function uuid7(ms: number = Date.now()): string {
  // Random bytes are drawn in bulk: one CSPRNG call per 256 ids rather than one per id.
  if (offset === pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const at = offset;
  offset += 16;
  pool.writeUIntBE(Math.min(Math.max(Math.floor(ms), 0), MAX_MS), at, 6);
  pool[at + 6] = ((pool[at + 6] as number) & 0x0f) | 0x70; // version 7
  pool[at + 8] = ((pool[at + 8] as number) & 0x3f) | 0x80; // RFC 9562 variant
  for (let i = 0; i < 16; i++) {
    const pair = HEX_PAIRS[pool[at + i] as number] as number;
    const to = TEXT_AT[i] as number;
    text[to] = pair & 0xff;
    text[to + 1] = pair >> 8;
  }
  return text.toString('latin1', 0, 36);
}
