import { Gunzip } from 'fflate';
import { ArchiveBudget, ExpansionRefused, MemberMeter } from './limits.js';
import { recordSkip, type ByteSink, type ContentPlace } from './sink.js';

/** Compressed bytes handed to the inflater at once: bounds one push's output to about 1,032 times this. */
export const INFLATE_SLICE = 16 * 1024;

/**
 * Gunzips a stream into the content inside it, which keeps the gzip file's path (a gzip holds one stream, not named
 * members). Output is metered (size, ratio, the archive budget); a refusal or corrupt data stops this stream only,
 * and what was decompressed before it is still scanned.
 */
export class GzipSink implements ByteSink {
  private readonly meter: MemberMeter;
  private readonly gunzip: Gunzip;
  private out: Uint8Array[] = [];
  private stopped = false;
  /** For the end check: bytes in and out, the last 8 bytes in (the trailer), and further members seen. */
  private inputBytes = 0;
  private outputBytes = 0;
  private tail = new Uint8Array(0);
  private extraMembers = 0;

  constructor(
    private readonly place: ContentPlace,
    private readonly inner: ByteSink,
  ) {
    this.meter = new MemberMeter(place.budget ?? new ArchiveBudget());
    this.gunzip = new Gunzip((data) => {
      this.outputBytes += data.length;
      // Kept before it is metered: what came before a refusal is still scanned.
      if (data.length > 0) this.out.push(data);
      this.meter.produced(data.length);
    });
    this.gunzip.onmember = () => {
      this.extraMembers++;
    };
  }

  private remember(chunk: Uint8Array): void {
    this.inputBytes += chunk.length;
    const joined = new Uint8Array(Math.min(8, this.tail.length + chunk.length));
    const fromTail = joined.length - Math.min(chunk.length, joined.length);
    joined.set(this.tail.subarray(this.tail.length - fromTail));
    joined.set(chunk.subarray(chunk.length - (joined.length - fromTail)), fromTail);
    this.tail = joined;
  }

  /**
   * fflate neither checks the trailer nor fails on a stream cut inside its header, so the end is checked here: a
   * gzip has at least 18 bytes, and a single-member stream ends with its length modulo 2^32 (ISIZE).
   */
  private truncated(): boolean {
    if (this.inputBytes < 18) return true;
    if (this.extraMembers > 0) return false;
    const view = new DataView(this.tail.buffer, this.tail.byteOffset, this.tail.byteLength);
    return view.getUint32(4, true) !== this.outputBytes % 2 ** 32;
  }

  private async push(chunk: Uint8Array, final: boolean): Promise<void> {
    for (let offset = 0; offset < chunk.length || (final && offset === 0); offset += INFLATE_SLICE) {
      if (this.stopped) return;
      const slice = chunk.subarray(offset, offset + INFLATE_SLICE);
      const last = final && offset + INFLATE_SLICE >= chunk.length;
      try {
        this.meter.consumed(slice.length);
        this.remember(slice);
        this.gunzip.push(slice, last);
      } catch (err) {
        this.stop(err);
      }
      const produced = this.out;
      this.out = [];
      for (const data of produced) await this.inner.write(data);
      if (chunk.length === 0) return;
    }
  }

  private stop(err: unknown): void {
    this.stopped = true;
    if (err instanceof ExpansionRefused) recordSkip(this.place, { path: this.place.path, reason: err.reason, detail: err.detail });
    else recordSkip(this.place, { path: this.place.path, reason: 'unreadable', detail: 'corrupt gzip data' });
  }

  write(chunk: Uint8Array): Promise<void> {
    return this.push(chunk, false);
  }

  async end(): Promise<void> {
    if (!this.stopped) await this.push(new Uint8Array(0), true);
    if (!this.stopped && this.truncated()) this.stop(new Error('truncated'));
    await this.inner.end();
  }
}
