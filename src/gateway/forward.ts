import { isUtf8 } from 'node:buffer';
import type { ServerResponse } from 'node:http';
import { errors as undiciErrors, type Dispatcher } from 'undici';
import { KeywardenError } from '../errors/index.js';
import { decompressBody } from './decompress.js';
import { forwardResponseHeaders, withoutHeader } from './headers.js';
import { contentEncodingOf, isEventStream, isJson, isTextLike } from './response-kind.js';
import type { Scrubber, StreamScrubber } from './scrub.js';
import { REQUEST_ID_HEADER } from './request-id.js';
import { SseRelay } from './sse-relay.js';
import { UpstreamFailure } from './upstream-failure.js';
import type { UpstreamRuntime } from './upstream-registry.js';
import { usageFromJsonBody, usageFromJsonBuffer, type MediaAnswer, type MeteredTokens } from './usage-parse.js';

/**
 * The client side of one proxied request: set when the client goes away before its response is complete, so the
 * upstream request is abandoned too. Lighter than an AbortController + AbortSignal per request, which the hot path
 * would otherwise create, listen to and tear down for every request.
 */
export class ClientLink {
  private gone = false;
  private onGone: ((reason: Error) => void) | null = null;

  get aborted(): boolean {
    return this.gone;
  }

  /** The client went away: abort whatever upstream request is bound (now or later). */
  abort(): void {
    if (this.gone) return;
    this.gone = true;
    this.onGone?.(abortError());
  }

  /** Binds the abort of the current upstream request; it runs at once if the client is already gone. */
  bind(abort: (reason: Error) => void): void {
    this.onGone = abort;
    if (this.gone) abort(abortError());
  }

  unbind(): void {
    this.onGone = null;
  }
}

/** The same error an aborted AbortSignal carries, so logs and error mapping read as they always did. */
function abortError(): Error {
  return new DOMException('This operation was aborted', 'AbortError');
}

export interface ForwardRequest {
  upstream: UpstreamRuntime;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer | string | null;
  /** Sent to the client as x-keywarden-request-id (the gateway's own value wins over an upstream's). */
  requestId: string;
  client: ClientLink;
  connectRetries: number;
  /** True when the gateway added stream_options.include_usage and must hide the usage chunk again. */
  dropInjectedUsageChunk: boolean;
  /** Keep streamed text so a cut stream can still be metered by a tokenizer. */
  trackStreamText: boolean;
  /** Rewrites a successful JSON body before it is sent (e.g. filtering /v1/models). */
  transformJson?: ((body: unknown) => unknown) | undefined;
  /** Sees each relayed SSE event before the client does (e.g. to record the id of a streamed creation). */
  onSseEvent?: ((event: string) => void) | undefined;
  /** An answer billed by the unit, whose units are counted when it reports no usage (see usage-parse.ts). */
  mediaAnswer?: MediaAnswer | null | undefined;
  limits: ResponseLimits;
  /**
   * A 5xx or 429 answer is not relayed but returned as `failedOver` (nothing is written to the client), so the
   * caller can try the next upstream. Only set when one is left to try.
   */
  failOverOnStatus?: boolean;
}

/** Bounds on what the gateway holds in memory for one response (config `upstream.*`). */
export interface ResponseLimits {
  /** A body buffered to be parsed (JSON with usage, errors, filtered lists); larger JSON is streamed unmetered. */
  maxBufferedBytes: number;
  /** One SSE event waiting for its end; a larger one cuts the stream. */
  maxSseEventBytes: number;
}

export interface ForwardResult {
  status: number;
  tokens: MeteredTokens | null;
  /** The upstream stream ended before completing (cut by upstream, client or timeout). */
  incomplete: boolean;
  /** Text streamed to the client, when tracked. */
  streamedText: string;
  errorCode: string | null;
  /** Set when failOverOnStatus caught a 5xx or 429: nothing reached the client, the upstream request was abandoned. */
  failedOver?: boolean;
}

/** Connect-phase failures: nothing reached the upstream, so trying again cannot duplicate a request. */
export const CONNECT_ERRORS: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

function errorCodeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The client-facing error for an upstream failure; its cause says, for the log only, where and after how many attempts. */
export function translateUpstreamError(err: unknown, origin = '', attempts = 1): KeywardenError {
  if (err instanceof KeywardenError) return err;
  const cause = new UpstreamFailure(origin, attempts, err);
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError) {
    return new KeywardenError('KW_UPSTREAM_TIMEOUT', { cause });
  }
  return new KeywardenError('KW_UPSTREAM_UNAVAILABLE', { cause });
}

/** UTF-8 text of a buffered body, skipping a byte-order mark (as undici's body.text() does). */
function decodeBody(buffer: Buffer): string {
  if (buffer.length === 0) return '';
  const start = buffer.length > 2 && buffer[0] === 0xef && buffer[1] === 0xbb && buffer[2] === 0xbf ? 3 : 0;
  return buffer.toString('utf8', start);
}

/**
 * A body the client can get byte for byte: valid UTF-8 (what decoding would not change, so no overlong or broken
 * sequence reaches a lenient client), no byte-order mark (decodeBody drops it) and nothing the scrubber would touch.
 */
function relayableAsIs(body: Buffer, scrub: Scrubber): boolean {
  if (body.length > 2 && body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf) return false;
  return scrub.clean(body) && isUtf8(body);
}

function flushHeadersIfIdle(exchange: UpstreamExchange): void {
  exchange.flushHeadersIfIdle();
}

function refusal(message: string): KeywardenError {
  return new KeywardenError('KW_UPSTREAM_UNAVAILABLE', { message });
}

/**
 * Sends the request upstream and relays the answer to the client:
 * - SSE: event by event, as they arrive, with usage read from the stream; one event is capped in size;
 * - JSON and errors: buffered up to a cap, scrubbed of key material, usage read from the body; a successful JSON
 *   body above the cap is streamed instead (unmetered: settled as incomplete), an error above it is refused;
 * - anything else (text, audio, images as bytes): streamed through, scrubbed chunk by chunk.
 * Headers are scrubbed too, and a compressed body is decompressed (buffered) or refused (streamed), because the
 * gateway cannot scrub what it cannot read.
 *
 * It drives undici's dispatcher directly rather than `pool.request()`: that API wraps every response in a
 * Readable stream, an async body consumer and promise plumbing, none of which a relay needs. Backpressure is
 * explicit instead: when the client's socket is full the upstream read is paused until it drains.
 *
 * The handler takes undici's raw callbacks (onConnect, onHeaders with the header list as bytes, onData, onComplete,
 * onError), which undici 7's HTTP/1.1 client calls directly. Its controller-style callbacks (onResponseStart…) are
 * adapted to those by a wrapper that first parses the header list into an object, which the relay would then copy,
 * filter and hand to Node to iterate again: about 4 µs of a request's CPU (a `perf` profile at c=64, mostly
 * megamorphic property access). The list is filtered into the flat array `res.writeHead` takes instead.
 */
export function forward(req: ForwardRequest, res: ServerResponse): Promise<ForwardResult> {
  return new Promise((resolve, reject) => {
    new UpstreamExchange(req, res, resolve, reject).dispatch();
  });
}

/** `stream`: bytes relayed through a scrubber (non-JSON bodies, and JSON above the buffer cap). */
type Mode = 'waiting' | 'buffer' | 'sse' | 'stream' | 'done';

class UpstreamExchange implements Dispatcher.DispatchHandler {
  private attempt = 0;
  private mode: Mode = 'waiting';
  private status = 0;
  /** The response headers for the client, `[name, value…]` (see forwardResponseHeaders). */
  private headers: string[] = [];
  /** Aborts the upstream request (from undici's onConnect). */
  private abortUpstream: ((err: Error) => void) | null = null;
  /** Resumes an upstream read paused by returning false from onData (from undici's onHeaders). */
  private resumeUpstream: (() => void) | null = null;
  private chunks: Buffer[] = [];
  private length = 0;
  private relay: SseRelay | null = null;
  private scrubber: StreamScrubber | null = null;
  private backpressure = false;
  /** SSE events relayed from the current upstream chunk, not yet written (see flushEvents). */
  private pendingEvents = '';
  /** Something of the SSE body was written (the status line and headers went with it). */
  private eventsWritten = false;
  /** A successful JSON body: usage is read from it (and it may be transformed) once buffered. */
  private json = false;
  /** Content coding of a buffered body, undone before it is scrubbed. */
  private encoding: string | null = null;
  /** The body could not be metered (a JSON body streamed past the buffer cap): settle it as incomplete. */
  private unmetered = false;

  constructor(
    private readonly req: ForwardRequest,
    private readonly res: ServerResponse,
    private readonly resolve: (result: ForwardResult) => void,
    private readonly reject: (err: unknown) => void,
  ) {}

  dispatch(): void {
    // A client that left before anything was sent gets the same outcome as an already-aborted signal had.
    if (this.req.client.aborted) {
      this.fail(abortError());
      return;
    }
    const { req } = this;
    // origin: a Pool knows its own, a proxy agent (HTTPS_PROXY) needs it to choose the route.
    req.upstream.pool.dispatch({ origin: req.upstream.origin, method: req.method, path: req.path, headers: req.headers, body: req.body }, this);
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abortUpstream = abort;
    this.req.client.bind(abort);
  }

  /** Returns false to pause the upstream read (never here: backpressure starts with the body). */
  onHeaders(statusCode: number, rawHeaders: Array<Buffer | string>, resume: () => void): boolean {
    if (statusCode < 200) return true; // informational (1xx): the final response follows
    this.resumeUpstream = resume;
    if (this.req.failOverOnStatus === true && (statusCode >= 500 || statusCode === 429)) {
      // The provider refused before doing the work (overloaded, rate-limited, failing): the body is not read.
      this.succeed({ status: statusCode, tokens: null, incomplete: false, streamedText: '', errorCode: 'upstream_failed_over', failedOver: true });
      this.abort(new Error('failed over to the next upstream'));
      return true;
    }
    try {
      this.start(statusCode, rawHeaders);
    } catch (err) {
      // E.g. a header value Node refuses to send, or a compressed stream: nothing reached the client, so it gets a
      // proper error answer.
      this.abortWith(err);
    }
    return true;
  }

  private start(statusCode: number, rawHeaders: Array<Buffer | string>): void {
    const { req, res } = this;
    const scrub = req.upstream.scrub;
    this.status = statusCode;
    const upstream = forwardResponseHeaders(rawHeaders);
    const encoding = contentEncodingOf(upstream.contentEncoding);
    // The client gets what the gateway could read.
    this.headers = encoding === null ? upstream.list : withoutHeader(upstream.list, 'content-encoding');
    scrub.headerValues(this.headers);
    this.headers.push(REQUEST_ID_HEADER, req.requestId);
    const type = upstream.contentType;
    const eventStream = isEventStream(type);
    if (statusCode >= 400 || (!eventStream && isJson(type))) {
      this.mode = 'buffer';
      this.json = statusCode < 400;
      this.encoding = encoding;
      return;
    }
    if (encoding !== null) throw refusal('The upstream sent a compressed stream, which the gateway cannot check for key material.');
    if (eventStream) {
      this.mode = 'sse';
      res.writeHead(statusCode, this.headers);
      // The headers leave with the first event when it came in the same upstream packet (one write, not two); if
      // the upstream is slow to send one (a model still thinking), they leave on their own right after.
      setImmediate(flushHeadersIfIdle, this);
      this.relay = new SseRelay({
        dropInjectedUsageChunk: req.dropInjectedUsageChunk,
        trackText: req.trackStreamText,
        maxEventBytes: req.limits.maxSseEventBytes,
        scrub: scrub.any,
        // An observer of single events (a streamed creation's id) needs them one by one; otherwise a chunk of whole,
        // clean events goes out as the bytes it came as, with no decoding, per-event work or re-encoding.
        wholeChunks:
          req.onSseEvent === undefined
            ? {
                clean: scrub.clean,
                emit: (bytes) => {
                  this.flushEvents(); // keeps the order should text events ever be pending
                  this.writeEvents(bytes);
                },
              }
            : undefined,
        emit: (text) => {
          req.onSseEvent?.(text);
          // The stream's first event leaves at once, with the headers: time to first token is what a streaming
          // client waits on, and an upstream packet can hold many events (the rest of it is joined below).
          if (!this.eventsWritten) {
            this.writeEvents(text);
            return;
          }
          this.pendingEvents = this.pendingEvents === '' ? text : this.pendingEvents + text;
        },
      });
    } else {
      this.mode = 'stream';
      this.scrubber = scrub.stream(isTextLike(type));
      res.writeHead(statusCode, this.headers);
    }
  }

  /** Returns false to pause the upstream read until the client's socket drains. */
  onData(chunk: Buffer): boolean {
    switch (this.mode) {
      case 'buffer':
        this.chunks.push(chunk);
        this.length += chunk.length;
        if (this.length > this.req.limits.maxBufferedBytes) this.overflowBuffer();
        break;
      case 'sse': {
        const relay = this.relay as SseRelay;
        let fits = true;
        try {
          fits = relay.push(chunk);
        } finally {
          this.flushEvents(); // even if the relay threw: events completed before that were sent as they came
        }
        if (!fits) {
          this.cut('upstream_event_too_large');
          return true;
        }
        break;
      }
      case 'stream':
        this.writeScrubbed(chunk);
        break;
      default:
        return true;
    }
    if (!this.backpressure) return true;
    this.backpressure = false;
    // A closure only when the client is full, not one per request.
    this.res.once('drain', () => this.resumeUpstream?.());
    return false;
  }

  /**
   * A buffered body passed the cap. A successful, uncompressed JSON body that needs no rewriting is streamed from
   * here on (scrubbed, but no longer metered); anything else (an error body, a list to filter, a compressed body)
   * is refused, since it cannot be relayed safely without reading it whole.
   */
  private overflowBuffer(): void {
    if (!this.json || this.encoding !== null || this.req.transformJson) {
      this.abortWith(refusal('The upstream response is larger than the gateway buffers.'));
      return;
    }
    this.mode = 'stream';
    this.unmetered = true;
    this.scrubber = this.req.upstream.scrub.stream(true);
    this.res.writeHead(this.status, this.headers);
    const buffered = this.chunks;
    this.chunks = [];
    this.length = 0;
    for (const chunk of buffered) this.writeScrubbed(chunk);
  }

  private writeScrubbed(chunk: Buffer): void {
    const out = (this.scrubber as StreamScrubber).push(chunk);
    if (out.length > 0 && !this.res.write(out)) this.backpressure = true;
  }

  onComplete(): void {
    const { req, res } = this;
    switch (this.mode) {
      case 'buffer': {
        const statusCode = this.status;
        let tokens: MeteredTokens | null = null;
        try {
          let body = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.length);
          this.chunks = [];
          if (this.encoding !== null) body = decompressBody(body, this.encoding, req.limits.maxBufferedBytes);
          if (this.json && req.transformJson === undefined && relayableAsIs(body, req.upstream.scrub)) {
            // The usual successful JSON answer: nothing to scrub or rewrite, so the bytes go out as they came (no
            // decode to a string and encode back). Usage is read from its tail once the answer is on its way: the
            // client does not wait for the metering.
            this.headers.push('content-length', String(body.length));
            res.writeHead(statusCode, this.headers);
            res.end(body);
            tokens = usageFromJsonBuffer(body, req.mediaAnswer ?? null);
            this.succeed({ status: statusCode, tokens, incomplete: false, streamedText: '', errorCode: null });
            return;
          }
          let text = decodeBody(body);
          if (this.json) {
            tokens = usageFromJsonBody(text, req.mediaAnswer ?? null);
            if (req.transformJson) text = JSON.stringify(req.transformJson(JSON.parse(text)));
          }
          const scrub = statusCode >= 400 ? req.upstream.scrub.error : req.upstream.scrub.any;
          const payload = scrub(text);
          this.headers.push('content-length', String(Buffer.byteLength(payload)));
          res.writeHead(statusCode, this.headers);
          res.end(payload);
        } catch (err) {
          // Not an upstream failure (e.g. a transform choking on a body that is not JSON): report it as such.
          this.fail(err);
          return;
        }
        this.succeed({ status: statusCode, tokens, incomplete: false, streamedText: '', errorCode: null });
        return;
      }
      case 'sse': {
        const relay = this.relay as SseRelay;
        relay.end();
        this.flushEvents();
        res.end();
        this.succeed({ status: this.status, tokens: relay.meteredUsage, incomplete: false, streamedText: relay.outputText, errorCode: null });
        return;
      }
      case 'stream': {
        res.end((this.scrubber as StreamScrubber).end());
        this.succeed({ status: this.status, tokens: null, incomplete: this.unmetered, streamedText: '', errorCode: null });
        return;
      }
      default:
        return;
    }
  }

  onError(err: Error): void {
    const { req, res } = this;
    switch (this.mode) {
      case 'waiting': {
        req.client.unbind();
        if (req.client.aborted) {
          this.fail(err);
          return;
        }
        const code = errorCodeOf(err);
        if (code !== undefined && CONNECT_ERRORS.has(code) && this.attempt < req.connectRetries) {
          this.attempt++;
          // Re-dispatch outside undici's error callback, as the awaited retry loop used to.
          queueMicrotask(() => this.dispatch());
          return;
        }
        this.fail(translateUpstreamError(err, req.upstream.origin, this.attempt + 1));
        return;
      }
      case 'buffer':
        this.chunks = [];
        this.fail(translateUpstreamError(err, req.upstream.origin, this.attempt + 1));
        return;
      case 'sse': {
        const relay = this.relay as SseRelay;
        const errorCode = req.client.aborted ? 'client_disconnected' : translateUpstreamError(err).apiCode;
        res.destroy();
        this.succeed({ status: this.status, tokens: relay.meteredUsage, incomplete: true, streamedText: relay.outputText, errorCode });
        return;
      }
      case 'stream':
        // The held-back tail is dropped, not sent: it may be the start of a key.
        res.destroy();
        this.succeed({ status: this.status, tokens: null, incomplete: true, streamedText: '', errorCode: 'upstream_cut' });
        return;
      default:
        return;
    }
  }

  /** Stops a stream that went wrong after its headers were sent: the client sees a cut, the request is incomplete. */
  private cut(errorCode: string): void {
    const relay = this.relay;
    this.res.destroy();
    this.succeed({ status: this.status, tokens: relay?.meteredUsage ?? null, incomplete: true, streamedText: relay?.outputText ?? '', errorCode });
    this.abort(new Error(errorCode));
  }

  /** Refuses a response before anything reached the client, and abandons the upstream request. */
  private abortWith(err: unknown): void {
    this.chunks = [];
    this.fail(err);
    this.abort(err instanceof Error ? err : new Error(String(err)));
  }

  private abort(reason: Error): void {
    this.abortUpstream?.(reason);
  }

  /**
   * Writes the events completed by the upstream chunk just processed, as one write. Each res.write of a chunked
   * response costs four socket writes (size line, CRLF, data, CRLF), so writing per event made a streamed answer
   * several times dearer than a JSON one. Nothing is held back: only events that arrived together are joined (the
   * stream's first event excepted, which emit writes on its own).
   */
  private flushEvents(): void {
    if (this.pendingEvents === '') return;
    const text = this.pendingEvents;
    this.pendingEvents = '';
    this.writeEvents(text);
  }

  /** Writes events (text, or whole events as the bytes they came as); the headers leave with the first write. */
  private writeEvents(data: string | Buffer): void {
    this.eventsWritten = true;
    if (!this.res.write(data)) this.backpressure = true;
  }

  /** Sends the SSE headers on their own when no event carried them out within the upstream's first packet. */
  flushHeadersIfIdle(): void {
    if (!this.eventsWritten && !this.res.writableEnded && !this.res.destroyed) this.res.flushHeaders();
  }

  private succeed(result: ForwardResult): void {
    this.mode = 'done';
    this.req.client.unbind();
    this.resolve(result);
  }

  private fail(err: unknown): void {
    this.mode = 'done';
    this.req.client.unbind();
    this.reject(err);
  }
}
