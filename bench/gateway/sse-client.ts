// A minimal keep-alive HTTP/1.1 client over raw sockets, for streamed requests: it timestamps the first body byte
// (the first SSE event; the gateway flushes headers on their own first) and the end of the response. Raw `net`
// keeps the client's own cost small and identical for direct and proxied runs, so the difference is the gateway.
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface StreamRunOptions {
  host: string;
  port: number;
  path: string;
  key: string;
  /** Extra request headers (a peer gateway's routing headers). */
  headers?: Readonly<Record<string, string>>;
  body: Buffer;
  connections: number;
  durationMs: number;
  /** Hard cap on requests per run (bounded even on a very fast target). */
  maxRequests: number;
}

export interface StreamRunResult {
  requests: number;
  errors: number;
  elapsedMs: number;
  /** Time to first chunk: request written → first body byte, in microseconds. */
  ttfcUs: number[];
  /** Request written → response complete, in microseconds. */
  totalUs: number[];
}

type State = 'head' | 'size' | 'data' | 'dataEnd' | 'trailer' | 'fixed';

/** One connection running requests back to back; resolves when the deadline passes or the cap is reached. */
class Connection {
  private socket: Socket | null = null;
  private state: State = 'head';
  private line = '';
  private remaining = 0;
  private status = 0;
  private started = 0;
  private firstByteAt = 0;
  private finish: (() => void) | null = null;

  constructor(
    private readonly options: StreamRunOptions,
    private readonly request: Buffer,
    private readonly shared: { deadline: number; issued: number; result: StreamRunResult },
  ) {}

  run(): Promise<void> {
    return new Promise((resolve) => {
      this.finish = resolve;
      const socket = connect({ host: this.options.host, port: this.options.port, noDelay: true }, () => this.next());
      socket.on('data', (chunk: Buffer) => this.onData(chunk));
      socket.on('error', () => this.fail());
      // Bounded: a target that stops answering fails this connection instead of hanging the run.
      socket.setTimeout(10_000, () => this.fail());
      socket.on('close', () => this.done());
      this.socket = socket;
    });
  }

  private next(): void {
    const { shared } = this;
    if (performance.now() >= shared.deadline || shared.issued >= this.options.maxRequests) {
      this.socket?.end();
      this.done();
      return;
    }
    shared.issued++;
    this.state = 'head';
    this.line = '';
    this.status = 0;
    this.firstByteAt = 0;
    this.started = performance.now();
    this.socket?.write(this.request);
  }

  private fail(): void {
    this.shared.result.errors++;
    this.socket?.destroy();
    this.done();
  }

  private done(): void {
    const finish = this.finish;
    this.finish = null;
    finish?.();
  }

  private bodyBytes(): void {
    if (this.firstByteAt === 0) this.firstByteAt = performance.now();
  }

  private complete(): void {
    const end = performance.now();
    const { result } = this.shared;
    if (this.status === 200) {
      result.requests++;
      result.ttfcUs.push(((this.firstByteAt || end) - this.started) * 1000);
      result.totalUs.push((end - this.started) * 1000);
    } else {
      result.errors++;
    }
    this.next();
  }

  private onData(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      switch (this.state) {
        case 'head': {
          const text = chunk.toString('latin1', i);
          const combined = this.line + text;
          const end = combined.indexOf('\r\n\r\n');
          if (end === -1) {
            this.line = combined;
            return;
          }
          i += end + 4 - this.line.length;
          this.startBody(combined.slice(0, end));
          if (this.state === 'head') return; // a response with no body completed and the next request started
          break;
        }
        case 'size':
        case 'trailer': {
          const lf = chunk.indexOf(10, i);
          if (lf === -1) {
            this.line += chunk.toString('latin1', i);
            return;
          }
          const line = (this.line + chunk.toString('latin1', i, lf)).replace(/\r$/, '');
          this.line = '';
          i = lf + 1;
          if (this.state === 'trailer') {
            if (line === '') this.complete();
            break;
          }
          const size = Number.parseInt(line, 16);
          if (size === 0) this.state = 'trailer';
          else {
            this.remaining = size;
            this.state = 'data';
          }
          break;
        }
        case 'data':
        case 'fixed': {
          const take = Math.min(this.remaining, chunk.length - i);
          if (take > 0) this.bodyBytes();
          this.remaining -= take;
          i += take;
          if (this.remaining === 0) {
            if (this.state === 'fixed') this.complete();
            else this.state = 'dataEnd';
          }
          break;
        }
        case 'dataEnd': {
          // The CRLF after a chunk's data; it may arrive split across reads.
          if (chunk[i] === 10) this.state = 'size';
          i++;
          break;
        }
      }
    }
  }

  private startBody(head: string): void {
    this.status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
    this.line = '';
    if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
      this.state = 'size';
      return;
    }
    const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
    if (length === 0) {
      this.complete();
      return;
    }
    this.remaining = length;
    this.state = 'fixed';
  }
}

export async function runStreamClient(options: StreamRunOptions): Promise<StreamRunResult> {
  const head =
    `POST ${options.path} HTTP/1.1\r\nHost: ${options.host}:${options.port}\r\nContent-Type: application/json\r\n` +
    `Authorization: Bearer ${options.key}\r\n` +
    Object.entries(options.headers ?? {})
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('') +
    `Content-Length: ${options.body.length}\r\n\r\n`;
  const request = Buffer.concat([Buffer.from(head, 'latin1'), options.body]);
  const result: StreamRunResult = { requests: 0, errors: 0, elapsedMs: 0, ttfcUs: [], totalUs: [] };
  const shared = { deadline: performance.now() + options.durationMs, issued: 0, result };
  const started = performance.now();
  const connections = Array.from({ length: options.connections }, () => new Connection(options, request, shared));
  await Promise.all(connections.map((c) => c.run()));
  result.elapsedMs = performance.now() - started;
  return result;
}
