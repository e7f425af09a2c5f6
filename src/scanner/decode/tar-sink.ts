import tar, { type Extract } from 'tar-stream';
import { memberPath } from './skip-record.js';
import { recordSkip, type ByteSink, type ContentPlace } from './sink.js';

/** Opens the content of one archive member (set by content-stream.ts, which depends on this file). */
export type MemberOpener = (place: ContentPlace) => ByteSink;

/**
 * Reads a tar stream with tar-stream and scans each regular file in it as `archive.tar!member`. Sizes come from the
 * headers and tar does not compress, so the outer gzip (if any) is what meters expansion.
 */
export class TarSink implements ByteSink {
  private readonly extract: Extract;
  private readonly done: Promise<void>;
  private failed = false;

  constructor(
    private readonly place: ContentPlace,
    open: MemberOpener,
  ) {
    this.extract = tar.extract();
    this.extract.on('entry', (header, stream, next) => {
      if (this.failed || (header.type !== 'file' && header.type !== 'contiguous-file')) {
        stream.resume();
        stream.on('end', () => next());
        return;
      }
      const member = open({ ...place, path: memberPath(place.path, header.name), depth: place.depth + 1 });
      void (async () => {
        for await (const chunk of stream as AsyncIterable<Uint8Array>) await member.write(chunk);
        await member.end();
      })().then(
        () => next(),
        (err: unknown) => next(err instanceof Error ? err : new Error('tar member failed')),
      );
    });
    this.done = new Promise<void>((resolve) => {
      this.extract.on('finish', () => resolve());
      this.extract.on('close', () => resolve());
      this.extract.on('error', () => {
        this.fail();
        resolve();
      });
    });
  }

  private fail(): void {
    if (this.failed) return;
    this.failed = true;
    recordSkip(this.place, { path: this.place.path, reason: 'unreadable', detail: 'corrupt tar data' });
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.failed) return;
    if (!this.extract.write(chunk)) {
      await new Promise<void>((resolve) => {
        const go = (): void => {
          this.extract.off('drain', go);
          this.extract.off('close', go);
          resolve();
        };
        this.extract.on('drain', go);
        this.extract.on('close', go);
      });
    }
  }

  async end(): Promise<void> {
    // streamx types `end` with a data argument; none is given here.
    if (!this.failed) this.extract.end(undefined);
    await this.done;
  }
}
