import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { KeywardenError } from '../errors/index.js';
import { findDuplicateKey } from './duplicate-keys.js';
import { readMultipartFields, type MultipartFields } from './multipart-model.js';

/**
 * How slowly a body may arrive: it must start within `timeoutMs`, never pause longer than `timeoutMs`, and each
 * `minBytesPerSecond` bytes received extend the overall allowance by one second (0: no rate, pauses only).
 */
export interface BodyPace {
  timeoutMs: number;
  minBytesPerSecond: number;
}

/**
 * Reads the whole request body, refusing early (by Content-Length) or as soon as the cap is crossed, and cutting a
 * body that arrives slower than `pace` allows (408, connection closed).
 */
export function readBody(req: IncomingMessage, maxBytes: number, pace?: BodyPace): Promise<Buffer> {
  const refusal = refusalNow(req, maxBytes);
  if (refusal) return Promise.reject(refusal);
  return new Promise((resolve, reject) => {
    // The usual small body arrives in the packet that carried the headers. The request handler runs while Node's
    // parser is still inside that packet, and a microtask runs once the parser has pushed the body: by then such
    // a body is buffered whole, and it is taken at once, with no stream events, timer or further turn.
    queueMicrotask(() => {
      const taken = bufferedBodyOrRefusal(req, maxBytes);
      if (taken instanceof Error) reject(taken);
      else if (taken !== null) resolve(taken);
      else listenForBody(req, maxBytes, pace, resolve, reject);
    });
  });
}

/**
 * The whole body when Node's parser has already pushed all of it, taken from the stream's buffer; null while some
 * of it is still on its way (then readBody waits for it). Throws what readBody would reject with.
 *
 * Why: the request path reads a body that came in the headers' packet without a promise of its own. Called from a
 * microtask queued in the request handler (or later), when such a body is whole (see readBody).
 */
export function takeBufferedBody(req: IncomingMessage, maxBytes: number): Buffer | null {
  const taken = bufferedBodyOrRefusal(req, maxBytes);
  if (taken instanceof Error) throw taken;
  return taken;
}

/**
 * The rest of a body takeBufferedBody found still on its way: the same outcomes as readBody, without checking again
 * what takeBufferedBody has just checked or waiting another microtask.
 */
export function waitForBody(req: IncomingMessage, maxBytes: number, pace?: BodyPace): Promise<Buffer> {
  return new Promise((resolve, reject) => listenForBody(req, maxBytes, pace, resolve, reject));
}

/** takeBufferedBody's outcome, with the refusal returned rather than thrown. */
function bufferedBodyOrRefusal(req: IncomingMessage, maxBytes: number): Buffer | Error | null {
  const refusal = refusalNow(req, maxBytes);
  if (refusal) return refusal;
  if (req.complete) return takeParsedBody(req, maxBytes);
  if (!bufferedWhole(req)) return null;
  takenWhole.add(req);
  return takeParsedBody(req, maxBytes);
}

/**
 * A body declared larger than the cap is refused before any of it is read, and a request already gone (the client
 * left during authentication, or a parse error later in the packet destroyed the socket) gets no further events.
 */
function refusalNow(req: IncomingMessage, maxBytes: number): Error | null {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) return tooLarge(maxBytes);
  if (req.destroyed) return req.errored ?? prematureClose();
  return null;
}

/** Requests whose body was taken whole before Node marked them complete (see bufferedWhole). */
const takenWhole = new WeakSet<IncomingMessage>();

/**
 * The request's body has been read to its end: an answer sent now leaves nothing unread on the connection, so it
 * can stay open. True once Node marks the request complete, and already when readBody took the body whole before that.
 */
export function bodyFullyRead(req: IncomingMessage): boolean {
  return req.complete || takenWhole.has(req);
}

/**
 * Every byte the Content-Length declares is in the stream's buffer. Node's server parser runs the microtasks queued
 * by the request handler right after it pushes the body, before it marks the message complete (that comes next in
 * the same packet), so `req.complete` alone is still false there. The parser never pushes more than the declared
 * length, so an equal count is the whole body; a chunked body (no length) waits for its end.
 */
function bufferedWhole(req: IncomingMessage): boolean {
  const declared = req.headers['content-length'];
  return declared !== undefined && req.readableLength === Number(declared);
}

/** The body the parser has already pushed whole, read from the stream's buffer; the cap's refusal past it. */
function takeParsedBody(req: IncomingMessage, maxBytes: number): Buffer | Error {
  const body = new BodyChunks(maxBytes);
  if (body.take(req)) return body.joined();
  abandon(req);
  return tooLarge(maxBytes);
}

/** The chunks of one body so far, against its cap. */
class BodyChunks {
  private readonly chunks: Buffer[] = [];
  size = 0;

  constructor(private readonly maxBytes: number) {}

  /** Takes what the stream holds now; false as soon as the body crosses the cap. */
  take(req: IncomingMessage): boolean {
    for (let chunk = req.read() as Buffer | null; chunk !== null; chunk = req.read() as Buffer | null) {
      this.size += chunk.length;
      if (this.size > this.maxBytes) return false;
      this.chunks.push(chunk);
    }
    return true;
  }

  joined(): Buffer {
    return this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.size);
  }
}

/**
 * Reads a body still on its way: refusing as soon as the cap is crossed, and cutting one that arrives slower than
 * `pace` allows (408, connection closed).
 */
function listenForBody(req: IncomingMessage, maxBytes: number, pace: BodyPace | undefined, resolve: (body: Buffer) => void, reject: (err: unknown) => void): void {
  // Plain listeners rather than `for await`: the async iterator (an async generator, an end-of-stream watcher and a
  // promise per chunk) was a measurable share of each request. The outcomes are the iterator's: the body, the
  // stream's own error, a premature-close error, or the cap error with the stream destroyed.
  const body = new BodyChunks(maxBytes);
  const watch = pace ? new BodyWatch(pace, () => refuse(timedOut())) : null;
  const cleanup = (): void => {
    watch?.stop();
    req.off('readable', onReadable);
    req.off('end', onEnd);
    req.off('error', onError);
    req.off('close', onClose);
  };
  const refuse = (err: KeywardenError): void => {
    cleanup();
    abandon(req);
    reject(err);
  };
  // 'readable' + read(), as the iterator consumes a stream: chunks are taken when the stream announces them
  // (on the next tick), not inside the parser's callback, so a refused body is destroyed at the same point.
  const onReadable = (): void => {
    if (!body.take(req)) {
      refuse(tooLarge(maxBytes));
      return;
    }
    watch?.received(body.size);
  };
  const onEnd = (): void => {
    cleanup();
    resolve(body.joined());
  };
  const onError = (err: Error): void => {
    cleanup();
    reject(err);
  };
  const onClose = (): void => {
    cleanup();
    reject(prematureClose());
  };
  req.on('readable', onReadable);
  req.on('end', onEnd);
  req.on('error', onError);
  req.on('close', onClose);
}

/**
 * One timer per slow body, re-armed only when it fires (never per chunk): at that point the allowance is
 * recomputed from the bytes received so far, and the body is cut if it is behind.
 */
class BodyWatch {
  private readonly started = Date.now();
  private lastChunkAt = this.started;
  private size = 0;
  private timer: NodeJS.Timeout;

  constructor(
    private readonly pace: BodyPace,
    private readonly onLate: () => void,
  ) {
    this.timer = setTimeout(this.check, pace.timeoutMs);
    this.timer.unref();
  }

  received(size: number): void {
    this.size = size;
    this.lastChunkAt = Date.now();
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  private readonly check = (): void => {
    const { timeoutMs, minBytesPerSecond } = this.pace;
    const byRate = minBytesPerSecond > 0 ? this.started + timeoutMs + (this.size * 1000) / minBytesPerSecond : Infinity;
    const deadline = Math.min(byRate, this.lastChunkAt + timeoutMs);
    const left = deadline - Date.now();
    if (left <= 0) {
      this.onLate();
      return;
    }
    this.timer = setTimeout(this.check, left);
    this.timer.unref();
  };
}

/**
 * Ends a refused request the way leaving a `for await` loop early does (Node's stream destroyer): the request
 * stream is destroyed after being detached from its socket, so the connection survives to carry the 413 answer.
 */
function abandon(req: IncomingMessage): void {
  (req as unknown as { socket: Socket | null }).socket = null;
  req.destroy();
}

/** The error an async iterator reports for a stream that closed before its end (same name and code). */
function prematureClose(): Error {
  return Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
}

function timedOut(): KeywardenError {
  return new KeywardenError('KW_REQUEST_TIMEOUT', { message: 'The request body arrived too slowly.' });
}

function tooLarge(maxBytes: number): KeywardenError {
  return new KeywardenError('KW_BODY_TOO_LARGE', { message: `The request body exceeds ${maxBytes} bytes.` });
}

export interface ParsedRequest {
  /** The parsed JSON object, when the body is JSON. */
  json: Record<string, unknown> | null;
  model: string | null;
  stream: boolean;
  /** The text fields the gateway reads from a multipart form (see multipart-model.ts). */
  form?: MultipartFields;
}

const EMPTY: ParsedRequest = { json: null, model: null, stream: false };

/**
 * Extracts what policy and metering need: the model and whether the client asked for a stream.
 * The body is read as JSON whatever Content-Type claims (providers do the same), so a mislabelled body cannot
 * slip a model past the scope check. `strict` (model-bearing endpoints) refuses bodies that are not JSON.
 */
export function parseRequestBody(body: Buffer, contentType: string | undefined, strict: boolean): ParsedRequest {
  if (body.length === 0) return EMPTY;
  let parsed: unknown;
  const text = body.toString('utf8');
  try {
    parsed = JSON.parse(text);
  } catch {
    if (strict) throw new KeywardenError('KW_INVALID_JSON');
    return EMPTY;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    if (strict) throw new KeywardenError('KW_INVALID_JSON', { message: 'The request body must be a JSON object.' });
    return EMPTY;
  }
  // Ambiguous JSON is refused: an upstream that keeps the first of two equal keys would see another request.
  const duplicate = findDuplicateKey(text);
  if (duplicate !== null) {
    throw new KeywardenError('KW_INVALID_JSON', { message: `The request body has the key "${duplicate.slice(0, 64)}" twice in one object.`, param: duplicate.slice(0, 64) });
  }
  const json = parsed as Record<string, unknown>;
  const model = json.model;
  if (model !== undefined && typeof model !== 'string') {
    throw new KeywardenError('KW_BAD_REQUEST', { message: '"model" must be a string.', param: 'model' });
  }
  return { json, model: model ?? null, stream: json.stream === true };
}

/** True for a multipart/form-data body, which is read by parseMultipartRequest (asynchronous, streaming parser). */
export function isMultipart(contentType: string | undefined): contentType is string {
  return contentType !== undefined && /^\s*multipart\//i.test(contentType);
}

/** What policy needs from a multipart form; a malformed or ambiguous form is a 400 (see multipart-model.ts). */
export async function parseMultipartRequest(body: Buffer, contentType: string): Promise<ParsedRequest> {
  if (body.length === 0) return EMPTY;
  const fields = await readMultipartFields(body, contentType);
  return { json: null, model: fields.get('model') ?? null, stream: fields.get('stream') === 'true', form: fields };
}
