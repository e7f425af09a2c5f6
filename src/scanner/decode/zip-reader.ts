import { Inflate } from 'fflate';
import { ARCHIVE_LIMITS, ArchiveBudget, ExpansionRefused, MemberMeter } from './limits.js';
import type { RandomAccess } from './random-access.js';
import { memberPath } from './skip-record.js';
import { recordSkip, type ByteSink, type ContentPlace } from './sink.js';
import type { MemberOpener } from './tar-sink.js';
import { memberDataOffset, readZipDirectory, ZipFormatError, type ZipEntry } from './zip-directory.js';
import { INFLATE_SLICE } from './gzip-sink.js';

const STORED = 0;
const DEFLATED = 8;
const ENCRYPTED_FLAG = 1;

/** Inflates (or copies) one member into `sink`, metered. Returns normally or throws ExpansionRefused. */
async function expandMember(access: RandomAccess, entry: ZipEntry, meter: MemberMeter, sink: ByteSink): Promise<void> {
  const start = memberDataOffset(access, entry);
  const end = start + entry.compressedSize;
  let out: Uint8Array[] = [];
  // Output is kept before it is metered: what a refused member produced up to the refusal is still scanned.
  const inflate = new Inflate((data) => {
    if (data.length > 0) out.push(data);
    meter.produced(data.length);
  });
  for (let offset = start; offset < end || offset === start; offset += INFLATE_SLICE) {
    const slice = access.read(offset, Math.min(INFLATE_SLICE, end - offset));
    meter.consumed(slice.length);
    if (entry.method === STORED) {
      meter.produced(slice.length);
      if (slice.length > 0) await sink.write(slice);
    } else {
      try {
        inflate.push(slice, offset + INFLATE_SLICE >= end);
      } finally {
        const produced = out;
        out = [];
        for (const data of produced) await sink.write(data);
      }
    }
    if (end === start) break;
  }
}

/**
 * Scans every member of a zip (also .jar, .whl, .docx and other zip containers) as `archive.zip!member`. The
 * central directory names the members; encrypted ones are counted as skipped; each member's expansion is metered
 * and a refusal stops that member, and the whole archive once the archive's budget is spent.
 */
export async function scanZip(access: RandomAccess, place: ContentPlace, open: MemberOpener): Promise<void> {
  const budget = place.budget ?? new ArchiveBudget();
  let entries: ZipEntry[];
  try {
    entries = readZipDirectory(access, ARCHIVE_LIMITS.maxZipEntries);
  } catch (err) {
    recordSkip(place, { path: place.path, reason: 'unreadable', detail: err instanceof ZipFormatError ? `corrupt zip: ${err.message}` : 'corrupt zip' });
    return;
  }
  for (const entry of entries) {
    if (entry.name.endsWith('/')) continue;
    const path = memberPath(place.path, entry.name);
    const memberPlace: ContentPlace = { ...place, path, depth: place.depth + 1, budget };
    if ((entry.flags & ENCRYPTED_FLAG) !== 0) {
      recordSkip(memberPlace, { path, reason: 'encrypted', detail: 'encrypted zip member' });
      continue;
    }
    if (entry.method !== STORED && entry.method !== DEFLATED) {
      recordSkip(memberPlace, { path, reason: 'unreadable', detail: `unsupported zip compression method ${entry.method}` });
      continue;
    }
    const sink = open(memberPlace);
    try {
      await expandMember(access, entry, new MemberMeter(budget), sink);
    } catch (err) {
      if (err instanceof ExpansionRefused) recordSkip(memberPlace, { path, reason: err.reason, detail: err.detail });
      else recordSkip(memberPlace, { path, reason: 'unreadable', detail: err instanceof ZipFormatError ? `corrupt zip: ${err.message}` : 'corrupt zip data' });
    }
    // What was expanded before a refusal is still scanned.
    await sink.end();
    if (budget.spent) {
      recordSkip(place, { path: place.path, reason: 'bomb', detail: 'zip bomb suspected (archive budget spent; remaining members not read)' });
      return;
    }
  }
}
