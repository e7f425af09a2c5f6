import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { KeywardenError } from '../../errors/index.js';
import { spawnGit } from './git.js';

export interface GitObject {
  oid: string;
  /** Undefined when the object is missing or larger than the size limit (its bytes are skipped). */
  data: Buffer | undefined;
  size: number;
}

/**
 * A long-lived `git cat-file --batch`: object ids go in, contents stream out. Requests are pipelined — all ids of
 * a batch are written at once and the answers parsed in order — so git never waits on us between objects.
 */
export class CatFileBatch {
  private readonly child: ChildProcessWithoutNullStreams;
  private chunks: Buffer[] = [];
  /** Read position inside chunks[0]. */
  private offset = 0;
  private buffered = 0;
  private wake: (() => void) | undefined;
  private ended = false;

  constructor(cwd: string) {
    this.child = spawnGit(['cat-file', '--batch'], cwd);
    this.child.stdout.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      this.notify();
    });
    this.child.stdout.on('end', () => {
      this.ended = true;
      this.notify();
    });
    this.child.on('error', () => {
      this.ended = true;
      this.notify();
    });
    this.child.stderr.resume();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private async waitForData(): Promise<void> {
    if (this.ended) throw new KeywardenError('KW_INTERNAL', { message: 'git cat-file ended early' });
    await new Promise<void>((resolve) => {
      this.wake = resolve;
    });
  }

  /** Takes `count` bytes off the queue; zero-copy when they sit in one chunk, which is the common case. */
  private async take(count: number): Promise<Buffer> {
    while (this.buffered < count) await this.waitForData();
    const first = this.chunks[0] as Buffer;
    let out: Buffer;
    if (first.length - this.offset >= count) {
      out = first.subarray(this.offset, this.offset + count);
      this.offset += count;
    } else {
      out = Buffer.allocUnsafe(count);
      let written = 0;
      while (written < count) {
        const chunk = this.chunks[0] as Buffer;
        const n = Math.min(chunk.length - this.offset, count - written);
        chunk.copy(out, written, this.offset, this.offset + n);
        written += n;
        this.offset += n;
        if (this.offset === chunk.length) {
          this.chunks.shift();
          this.offset = 0;
        }
      }
    }
    if (this.chunks.length > 0 && this.offset === (this.chunks[0] as Buffer).length) {
      this.chunks.shift();
      this.offset = 0;
    }
    this.buffered -= count;
    return out;
  }

  private async readLine(): Promise<string> {
    for (;;) {
      let length = 0;
      for (let c = 0; c < this.chunks.length; c++) {
        const chunk = this.chunks[c] as Buffer;
        const from = c === 0 ? this.offset : 0;
        const newline = chunk.indexOf(0x0a, from);
        if (newline !== -1) {
          const line = await this.take(length + newline - from + 1);
          return line.toString('utf8', 0, line.length - 1);
        }
        length += chunk.length - from;
      }
      await this.waitForData();
    }
  }

  /** Resolves when the previous request has been read to the end; answers arrive in request order. */
  private lastRead: Promise<void> = Promise.resolve();

  /**
   * Asks for objects now and returns them, in order, as they are read. The ids are written immediately, so git
   * already works on the next batch while the caller is still scanning the previous one. Objects over `maxSize`
   * bytes are consumed but not returned (data undefined).
   */
  request(oids: readonly string[], maxSize: number): AsyncGenerator<GitObject> {
    this.child.stdin.write(`${oids.join('\n')}\n`);
    const previous = this.lastRead;
    let finished: () => void = () => undefined;
    this.lastRead = new Promise<void>((resolve) => {
      finished = resolve;
    });
    const read = async function* (batch: CatFileBatch): AsyncGenerator<GitObject> {
      await previous;
      try {
        for (const oid of oids) {
          const header = await batch.readLine();
          const [, type, sizeText] = header.split(' ');
          if (type === undefined || sizeText === undefined || type === 'missing') {
            yield { oid, data: undefined, size: 0 };
            continue;
          }
          const size = Number(sizeText);
          const data = await batch.take(size + 1);
          yield { oid, data: size <= maxSize ? data.subarray(0, size) : undefined, size };
        }
      } finally {
        finished();
      }
    };
    return read(this);
  }

  close(): void {
    this.child.stdin.end();
  }
}
