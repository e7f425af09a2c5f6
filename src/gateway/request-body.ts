import type { IncomingMessage } from 'node:http';
import { KeywardenError } from '../errors/index.js';
import { boundaryOf, multipartFields } from './multipart-model.js';

/** Reads the whole request body, refusing early (by Content-Length) or as soon as the cap is crossed. */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) throw tooLarge(maxBytes);
  // A typical API body arrives in the same packets as the headers, so by now it is fully parsed and buffered:
  // take it synchronously instead of building an async iterator and a promise per chunk.
  if (req.complete) return readBuffered(req, maxBytes);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > maxBytes) throw tooLarge(maxBytes);
    chunks.push(buf);
  }
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
}

function readBuffered(req: IncomingMessage, maxBytes: number): Buffer {
  const chunks: Buffer[] = [];
  let size = 0;
  for (let chunk = req.read() as Buffer | null; chunk !== null; chunk = req.read() as Buffer | null) {
    size += chunk.length;
    if (size > maxBytes) {
      // What leaving a for-await loop early does to the stream, so both paths end a refused body alike.
      req.destroy();
      throw tooLarge(maxBytes);
    }
    chunks.push(chunk);
  }
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
}

function tooLarge(maxBytes: number): KeywardenError {
  return new KeywardenError('KW_BODY_TOO_LARGE', { message: `The request body exceeds ${maxBytes} bytes.` });
}

export interface ParsedRequest {
  /** The parsed JSON object, when the body is JSON. */
  json: Record<string, unknown> | null;
  model: string | null;
  stream: boolean;
}

const EMPTY: ParsedRequest = { json: null, model: null, stream: false };

function single(values: string[], field: string): string | null {
  if (values.length > 1) {
    throw new KeywardenError('KW_BAD_REQUEST', { message: `The form field "${field}" appears more than once.`, param: field });
  }
  return values[0] ?? null;
}

/**
 * Extracts what policy and metering need: the model and whether the client asked for a stream.
 * The body is read as JSON whatever Content-Type claims (providers do the same), so a mislabelled body cannot
 * slip a model past the scope check. `strict` (model-bearing endpoints) refuses bodies that are not JSON.
 */
export function parseRequestBody(body: Buffer, contentType: string | undefined, strict: boolean): ParsedRequest {
  if (body.length === 0) return EMPTY;
  if ((contentType ?? '').toLowerCase().startsWith('multipart/form-data')) {
    const boundary = boundaryOf(contentType ?? '');
    if (!boundary) throw new KeywardenError('KW_BAD_REQUEST', { message: 'The multipart body has no boundary.' });
    const model = single(multipartFields(body, boundary, 'model'), 'model');
    const stream = single(multipartFields(body, boundary, 'stream'), 'stream');
    return { json: null, model, stream: stream === 'true' };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    if (strict) throw new KeywardenError('KW_INVALID_JSON');
    return EMPTY;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    if (strict) throw new KeywardenError('KW_INVALID_JSON', { message: 'The request body must be a JSON object.' });
    return EMPTY;
  }
  const json = parsed as Record<string, unknown>;
  const model = json.model;
  if (model !== undefined && typeof model !== 'string') {
    throw new KeywardenError('KW_BAD_REQUEST', { message: '"model" must be a string.', param: 'model' });
  }
  return { json, model: model ?? null, stream: json.stream === true };
}
