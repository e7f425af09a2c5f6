import type { ByteSink, ContentPlace } from './sink.js';
import type { ContentKind } from './sniff.js';
import { bomLength, decoderFor, readAsLatin1, utf16BomLength, type StreamingTextDecoder } from './text-decoders.js';
import { WindowScanner } from './window-scanner.js';

/** Decodes text of a known encoding and scans it in windows; findings land in the place's result at the end. */
export class TextSink implements ByteSink {
  private readonly decoder: StreamingTextDecoder;
  private readonly scanner: WindowScanner;
  private skipBytes: number;

  constructor(
    kind: ContentKind,
    head: Uint8Array,
    private readonly place: ContentPlace,
  ) {
    this.decoder = decoderFor(kind);
    this.scanner = new WindowScanner(place.path, place.options, readAsLatin1(kind));
    this.skipBytes = bomLength(kind) + utf16BomLength(head, kind);
  }

  write(chunk: Uint8Array): Promise<void> {
    let bytes = chunk;
    if (this.skipBytes > 0) {
      const dropped = Math.min(this.skipBytes, bytes.length);
      bytes = bytes.subarray(dropped);
      this.skipBytes -= dropped;
    }
    this.scanner.push(this.decoder.decode(bytes));
    return Promise.resolve();
  }

  end(): Promise<void> {
    this.scanner.push(this.decoder.end());
    this.scanner.end();
    for (const finding of this.scanner.findings) this.place.result.findings.push(finding);
    return Promise.resolve();
  }
}
