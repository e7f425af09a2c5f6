import { ARCHIVE_LIMITS, ArchiveBudget } from './limits.js';
import { bufferAccess } from './random-access.js';
import { DISCARD, recordSkip, type ByteSink, type ContentPlace } from './sink.js';
import { sniffContent, SNIFF_BYTES, type ContentKind } from './sniff.js';
import { GzipSink } from './gzip-sink.js';
import { TarSink } from './tar-sink.js';
import { TextSink } from './text-sink.js';
import { scanZip } from './zip-reader.js';

function isArchive(kind: ContentKind): boolean {
  return kind === 'gzip' || kind === 'zip' || kind === 'tar';
}

/** Holds a nested zip in memory (it is read from its end), up to a bound, then scans it. */
class BufferedZipSink implements ByteSink {
  private parts: Uint8Array[] = [];
  private size = 0;
  private tooLarge = false;

  constructor(private readonly place: ContentPlace) {}

  write(chunk: Uint8Array): Promise<void> {
    if (this.tooLarge) return Promise.resolve();
    this.size += chunk.length;
    if (this.size > ARCHIVE_LIMITS.maxBufferedZipBytes) {
      this.tooLarge = true;
      this.parts = [];
      recordSkip(this.place, {
        path: this.place.path,
        reason: 'tooLarge',
        detail: `zip inside a stream larger than ${ARCHIVE_LIMITS.maxBufferedZipBytes / (1024 * 1024)} MiB`,
      });
      return Promise.resolve();
    }
    // Chunks from decompressors may be reused views; keep a copy.
    this.parts.push(chunk.slice());
    return Promise.resolve();
  }

  async end(): Promise<void> {
    if (this.tooLarge) return;
    const whole = Buffer.concat(this.parts);
    this.parts = [];
    await scanZip(bufferAccess(whole), this.place, openContent);
  }
}

/** The sink for content of a known kind at `place`. */
export function sinkFor(kind: ContentKind, head: Uint8Array, place: ContentPlace): ByteSink {
  if (kind === 'binary') {
    recordSkip(place, { path: place.path, reason: 'binary' });
    return DISCARD;
  }
  if (isArchive(kind) && place.depth >= ARCHIVE_LIMITS.maxDepth) {
    recordSkip(place, { path: place.path, reason: 'tooLarge', detail: `archive nested deeper than ${ARCHIVE_LIMITS.maxDepth} levels` });
    return DISCARD;
  }
  // Everything inside one top-level archive shares one budget.
  const archive: ContentPlace = { ...place, budget: place.budget ?? new ArchiveBudget() };
  if (kind === 'gzip') return new GzipSink(archive, openContent({ ...archive, depth: place.depth + 1 }));
  if (kind === 'tar') return new TarSink(archive, openContent);
  if (kind === 'zip') return new BufferedZipSink(archive);
  return new TextSink(kind, head, place);
}

/**
 * Content of unknown kind: the first bytes (up to SNIFF_BYTES) are held until the kind is known, then everything
 * goes to the sink for that kind. Archive members, gzip streams and file reads all start here.
 */
class SniffingSink implements ByteSink {
  private head: Uint8Array[] = [];
  private headLength = 0;
  private target: ByteSink | undefined;

  constructor(private readonly place: ContentPlace) {}

  private async decide(): Promise<ByteSink> {
    const head = Buffer.concat(this.head);
    this.head = [];
    const target = sinkFor(sniffContent(head), head, this.place);
    this.target = target;
    if (head.length > 0) await target.write(head);
    return target;
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.target !== undefined) return this.target.write(chunk);
    this.head.push(chunk.slice());
    this.headLength += chunk.length;
    if (this.headLength >= SNIFF_BYTES) await this.decide();
  }

  async end(): Promise<void> {
    const target = this.target ?? (await this.decide());
    await target.end();
  }
}

export function openContent(place: ContentPlace): ByteSink {
  return new SniffingSink(place);
}
