import { KeywardenError } from '../errors/index.js';
import { endpointGroupOf } from '../policy/index.js';
import { findDuplicateKey } from './duplicate-keys.js';
import { normalizeRequestPath } from './normalize-path.js';
import type { UpstreamRuntime } from './upstream-registry.js';
import { readFromUpstream, type UpstreamReadOptions } from './upstream-read.js';

/**
 * The Batch API runs every line of its input file as a request of its own, with the vaulted key: a line may name
 * any model, any endpoint and any stored object of the organisation, whatever the virtual key that created the
 * batch may do itself. So before a batch is created, its input file is read back from the upstream and every line
 * is held to the rules of a direct request by the same key (see `LineRules`); one line that breaks them refuses the
 * batch, and the upstream never sees it.
 */

/** One request line of a batch input file, as the Batch API reads it. */
export interface BatchLine {
  /** 1-based, counting blank lines, as an editor shows them. */
  number: number;
  /** The line's normalized `/v1/...` path, and the endpoint group it falls in. */
  path: string;
  group: string;
  body: Record<string, unknown>;
  /** The line's bytes, for the raw-byte checks of object references. */
  raw: Buffer;
}

/** Throws when the key may not send this line's body to its path (endpoint, model, objects named). */
export type LineRules = (line: BatchLine) => void | Promise<void>;

export interface BatchInputOptions extends UpstreamReadOptions {
  /** The longest line accepted (the per-request body cap: one line is one request's body). */
  maxLineBytes: number;
}

const NEWLINE = 0x0a;

/**
 * Reads the input file from the upstream and checks every line in order, streaming: memory stays bounded by one
 * line, whatever the file's size. Throws a KeywardenError naming the line that failed.
 */
export async function checkBatchInput(upstream: UpstreamRuntime, fileId: string, rules: LineRules, options: BatchInputOptions): Promise<void> {
  await readFromUpstream(upstream, `/v1/files/${encodeURIComponent(fileId)}/content`, {}, options, 'The batch input file', async (response) => {
    if (response.statusCode !== 200) {
      // The upstream's own words stay out of the answer (an error body may quote the vaulted key).
      await response.body.dump();
      throw new KeywardenError(response.statusCode >= 500 ? 'KW_UPSTREAM_UNAVAILABLE' : 'KW_BAD_REQUEST', {
        message: `The batch input file could not be read from the upstream (status ${response.statusCode}), so its requests cannot be checked.`,
        param: 'input_file_id',
      });
    }
    await checkLines(response.body, rules, options.maxLineBytes);
  });
}

/** Splits a byte stream into lines (LF, with an optional CR before it) and checks each non-blank one in order. */
export async function checkLines(chunks: AsyncIterable<Buffer> | Iterable<Buffer>, rules: LineRules, maxLineBytes: number): Promise<void> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let number = 0;
  const finishLine = async (bytes: Buffer): Promise<void> => {
    number++;
    const line = bytes.length > 0 && bytes[bytes.length - 1] === 0x0d ? bytes.subarray(0, -1) : bytes;
    if (line.toString('latin1').trim() === '') return;
    await checkLine(number, line, rules);
  };
  for await (const chunk of chunks) {
    let from = 0;
    for (let at = chunk.indexOf(NEWLINE); at !== -1; at = chunk.indexOf(NEWLINE, from)) {
      const piece = chunk.subarray(from, at);
      if (pendingBytes + piece.length > maxLineBytes) throw lineTooLong(number + 1, maxLineBytes);
      await finishLine(pending.length === 0 ? piece : Buffer.concat([...pending, piece]));
      pending = [];
      pendingBytes = 0;
      from = at + 1;
    }
    if (from < chunk.length) {
      const rest = chunk.subarray(from);
      pendingBytes += rest.length;
      if (pendingBytes > maxLineBytes) throw lineTooLong(number + 1, maxLineBytes);
      // Copied: the stream may reuse its chunk's memory once we move on.
      pending.push(Buffer.from(rest));
    }
  }
  if (pendingBytes > 0) await finishLine(Buffer.concat(pending));
}

async function checkLine(number: number, raw: Buffer, rules: LineRules): Promise<void> {
  const text = raw.toString('utf8');
  let request: unknown;
  try {
    request = JSON.parse(text);
  } catch {
    throw lineError(number, new KeywardenError('KW_BAD_REQUEST', { message: 'It is not JSON.' }));
  }
  // As for a direct request: a runner that keeps the first of two equal keys would run another line than the one
  // checked here (`"model": "o3", "model": "gpt-4o-mini"`).
  const duplicate = findDuplicateKey(text);
  if (duplicate !== null) {
    throw lineError(number, new KeywardenError('KW_INVALID_JSON', { message: `It has the key "${duplicate.slice(0, 64)}" twice in one object.` }));
  }
  if (typeof request !== 'object' || request === null || Array.isArray(request)) throw lineError(number, new KeywardenError('KW_BAD_REQUEST', { message: 'It is not a JSON object.' }));
  const { method, url, body } = request as Record<string, unknown>;
  // The Batch API only runs POSTs; anything else in the file is refused here rather than guessed at.
  if (method !== 'POST' || typeof url !== 'string' || typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw lineError(number, new KeywardenError('KW_BAD_REQUEST', { message: 'A batch line must be {"method": "POST", "url": "/v1/…", "body": {…}}.' }));
  }
  try {
    const { path } = normalizeRequestPath(url);
    if (!path.startsWith('/v1/')) throw new KeywardenError('KW_BAD_REQUEST', { message: `The url "${url.slice(0, 100)}" is not an API path.` });
    await rules({ number, path, group: endpointGroupOf(path), body: body as Record<string, unknown>, raw });
  } catch (err) {
    throw lineError(number, err);
  }
}

/** The line's own refusal (its status and code: a model not allowed stays 403), saying which line it was. */
function lineError(number: number, err: unknown): KeywardenError {
  if (!(err instanceof KeywardenError)) throw err;
  return new KeywardenError(err.code, { message: `Line ${number} of the batch input file: ${err.message}`, param: 'input_file_id' });
}

function lineTooLong(number: number, maxLineBytes: number): KeywardenError {
  return new KeywardenError('KW_BAD_REQUEST', { message: `Line ${number} of the batch input file is longer than ${maxLineBytes} bytes.`, param: 'input_file_id' });
}
