import { Dicer } from '@fastify/busboy';
import { KeywardenError } from '../errors/index.js';
import { parseHeaderValue } from './header-params.js';
import { checkRawPartHeaders } from './multipart-raw-headers.js';

/**
 * Reads the text fields of a multipart/form-data body (audio transcriptions, image edits) that the gateway acts on,
 * so the model scope is enforced on uploads too. The body itself is forwarded byte for byte; this only reads it.
 *
 * Splitting is done by busboy's streaming multipart parser (Dicer, Boyer-Moore-Horspool over the bytes: linear).
 * On top of it, every form that a different parser upstream could read differently is refused with a 400, because
 * a field the upstream sees and the gateway does not is a scope bypass:
 * - Content-Type with a repeated or RFC 2231 (`boundary*=`) boundary parameter;
 * - a part whose Content-Disposition is not exactly `form-data; name="…"[; filename="…"]` (unquoted, `name*=`,
 *   upper-case or repeated parameters, unknown parameters, escapes), or that repeats a header;
 * - a part with a Content-Transfer-Encoding other than the identity ones (an upstream could decode base64);
 * - a header line that is malformed, folded, or past small limits (see multipart-raw-headers.ts);
 * - the same field name twice (case-insensitively), unless it is an array field (`image[]`);
 * - text before the first or after the last boundary, or a body that ends before its closing boundary.
 */

/**
 * Fields the gateway reads (the model and stream flag for policy; an image's size, quality and count and a video's
 * length for its price). Their values are collected (capped); other parts are only validated and skipped.
 */
const READ_FIELDS = new Set(['model', 'stream', 'size', 'quality', 'n', 'seconds']);
const MAX_READ_FIELD_BYTES = 4096;
/** OpenAI forms have a handful of parts; tens of thousands of empty parts only cost the gateway time. */
const MAX_PARTS = 256;
/** Fed to the parser in slices so a refusal stops the work instead of finishing the whole body. */
const SLICE_BYTES = 4096;
const IDENTITY_ENCODINGS = new Set(['7bit', '8bit', 'binary']);
/** RFC 2046 §5.1.1 boundary characters (without the space, which only confuses parsers). */
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=?]{1,70}$/;

export type MultipartFields = ReadonlyMap<string, string>;

function refuse(message: string): KeywardenError {
  return new KeywardenError('KW_BAD_REQUEST', { message });
}

/** The one boundary of a multipart Content-Type, or a 400 for anything ambiguous. */
export function boundaryOf(contentType: string): string {
  const parsed = parseHeaderValue(contentType);
  if (!parsed || parsed.type !== 'multipart/form-data') throw refuse('The multipart Content-Type is malformed.');
  const boundaries = parsed.params.filter((p) => p.name === 'boundary' || p.name === 'boundary*');
  if (boundaries.length !== 1 || boundaries[0]?.name !== 'boundary') {
    throw refuse('The multipart Content-Type must have exactly one boundary parameter.');
  }
  const names = new Set(parsed.params.map((p) => p.name));
  if (names.size !== parsed.params.length) throw refuse('The multipart Content-Type repeats a parameter.');
  const boundary = boundaries[0].value;
  if (!BOUNDARY.test(boundary)) throw refuse('The multipart boundary is not valid.');
  return boundary;
}

/** The field name of a part, from a Content-Disposition that must be canonical. */
function fieldNameOf(disposition: string): string {
  const parsed = parseHeaderValue(disposition);
  if (!parsed || parsed.type !== 'form-data') throw refuse('A multipart part has a malformed Content-Disposition.');
  let name: string | null = null;
  let filename = false;
  for (const param of parsed.params) {
    // Exactly the form browsers and SDKs send: lower-case, quoted, each once. Anything else may be read
    // differently upstream (e.g. first-wins vs last-wins, or RFC 2231 `name*=` taking precedence).
    if (param.rawName !== param.name || !param.quoted) throw refuse('A multipart part name must be a quoted name="…" parameter.');
    if (param.name === 'name' && name === null) name = param.value;
    else if (param.name === 'filename' && !filename) filename = true;
    else throw refuse('A multipart part has a repeated or unexpected Content-Disposition parameter.');
  }
  if (name === null || name === '') throw refuse('A multipart part has no name.');
  return name;
}

function checkPartHeaders(header: Record<string, string[]>): string {
  for (const values of Object.values(header)) {
    if (values.length !== 1) throw refuse('A multipart part repeats a header.');
  }
  const disposition = header['content-disposition']?.[0];
  if (disposition === undefined) throw refuse('A multipart part has no Content-Disposition.');
  const encoding = header['content-transfer-encoding']?.[0];
  if (encoding !== undefined && !IDENTITY_ENCODINGS.has(encoding.trim().toLowerCase())) {
    throw refuse('Multipart parts must not use a Content-Transfer-Encoding.');
  }
  return fieldNameOf(disposition);
}

function onlyWhitespace(data: Buffer): boolean {
  for (const byte of data) if (byte !== 13 && byte !== 10 && byte !== 32 && byte !== 9) return false;
  return true;
}

/** The fields the gateway reads (each at most once), or a 400 for a malformed or ambiguous form. */
export async function readMultipartFields(body: Buffer, contentType: string): Promise<MultipartFields> {
  const boundary = boundaryOf(contentType);
  checkRawPartHeaders(body, boundary);
  const fields = new Map<string, string>();
  const seen = new Set<string>();
  let parts = 0;
  // Held in an object: the parser's callbacks set it, and the checks below must see their writes.
  const outcome: { failure: KeywardenError | null } = { failure: null };
  const fail = (err: KeywardenError): void => {
    outcome.failure ??= err;
  };

  // Part streams never push back: the body is already in memory, and a part that reports "full" waits for a _read
  // that Dicer only gets on a later tick (a 17 KB file part stalled the form). Their data is drained as it comes.
  const config: ConstructorParameters<typeof Dicer>[0] & { partHwm: number } = { boundary, maxHeaderPairs: 16, partHwm: body.length + 1 };
  const dicer = new Dicer(config);
  const done = new Promise<void>((resolve) => {
    dicer.on('finish', resolve);
    dicer.on('error', () => {
      fail(refuse('The multipart body is malformed or incomplete.'));
      resolve();
    });
  });
  dicer.on('preamble', (preamble) => {
    preamble.on('data', (data: Buffer) => {
      if (!onlyWhitespace(data)) fail(refuse('The multipart body has data before its first boundary.'));
    });
    preamble.on('error', () => undefined);
  });
  dicer.on('trailer', (data: Buffer) => {
    if (!onlyWhitespace(data)) fail(refuse('The multipart body has data after its closing boundary.'));
  });
  dicer.on('part', (part) => {
    part.on('error', () => undefined); // reported through the parser's own error
    if (++parts > MAX_PARTS) {
      fail(refuse(`The multipart body has more than ${MAX_PARTS} parts.`));
      part.resume();
      return;
    }
    part.on('header', (header) => {
      let name: string;
      try {
        name = checkPartHeaders(header as Record<string, string[]>);
      } catch (err) {
        fail(err as KeywardenError);
        part.resume();
        return;
      }
      const key = name.toLowerCase();
      if (seen.has(key) && !key.endsWith('[]')) fail(refuse(`The form field "${name}" appears more than once.`));
      seen.add(key);
      if (!READ_FIELDS.has(key)) {
        part.resume();
        return;
      }
      if (name !== key) fail(refuse(`The form field "${key}" must be spelled in lower case.`));
      const chunks: Buffer[] = [];
      let size = 0;
      part.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_READ_FIELD_BYTES) fail(refuse(`The form field "${key}" is too long.`));
        else chunks.push(chunk);
      });
      part.on('end', () => fields.set(key, Buffer.concat(chunks).toString('utf8')));
    });
  });

  for (let at = 0; at < body.length && outcome.failure === null; at += SLICE_BYTES) {
    const slice = body.subarray(at, Math.min(body.length, at + SLICE_BYTES));
    await new Promise<void>((resolve) => dicer.write(slice, () => resolve()));
  }
  if (outcome.failure === null) {
    dicer.end();
    await done;
  } else {
    dicer.destroy();
  }
  if (outcome.failure !== null) throw outcome.failure;
  return fields;
}
