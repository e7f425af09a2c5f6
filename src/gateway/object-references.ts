import { KeywardenError } from '../errors/index.js';
import type { ObjectKind } from '../store/index.js';

/** An object that a request body names, to be checked for ownership before the request goes upstream. */
export interface ObjectReference {
  kind: ObjectKind;
  id: string;
  /** The body field that named it, reported as the error's `param`. */
  param: string;
}

/**
 * Fields whose values name stored objects, wherever they sit in a JSON body: `file_id` in chat/Responses file
 * inputs, vector store and message attachments; `file_ids` / `vector_store_ids` in tools and tool resources;
 * `input_file_id` of batches; `training_file` of fine-tuning; `previous_response_id` and `conversation` of
 * Responses; `container_id` of code interpreter calls, shell environments and container file citations; `skill_id`
 * of the skills a container mounts. Each would let a key make the model read, search or extend another key's data.
 * (An eval run's file source, `{ "type": "file_id", "id": … }`, and a code interpreter's `container: "cntr_…"` are
 * found by their shape: see `walk`.)
 */
const REFERENCE_FIELDS: Readonly<Record<string, ObjectKind>> = {
  file_id: 'file',
  file_ids: 'file',
  input_file_id: 'file',
  training_file: 'file',
  validation_file: 'file',
  vector_store_id: 'vector_store',
  vector_store_ids: 'vector_store',
  previous_response_id: 'response',
  conversation: 'conversation',
  assistant_id: 'assistant',
  thread_id: 'thread',
  container_id: 'container',
  skill_id: 'skill',
};

/**
 * `container` names a container only as a string in a code interpreter tool (`container: "cntr_…"`); as an object
 * (`{type: "auto", file_ids}`) it asks for a new one, whose `file_ids` are references of their own. Elsewhere (a
 * metadata value, a schema) the word is the client's own.
 */
const CONTAINER_FIELD = 'container';
const CODE_INTERPRETER = 'code_interpreter';
/**
 * An annotation citing a file inside a container: its `file_id` is the container file's (`cfile_…`), reachable only
 * through the container, which its `container_id` names. It is not one of the organisation's files.
 */
const CONTAINER_FILE_CITATION = 'container_file_citation';

/** Fields without `_id` in their name: looked up at the top level only, where the API reads them. */
const TOP_LEVEL_FIELDS = ['training_file', 'validation_file', 'conversation'] as const;
/** More references than any real request carries; beyond this the request is refused, not looked up one by one. */
export const MAX_REFERENCES = 256;
/** Bounds the walk on hostile bodies (the JSON was already parsed, so depth and size are bounded by the body cap). */
const MAX_VISITED = 200_000;

export const NO_REFERENCES: readonly ObjectReference[] = Object.freeze([]);
const UNDERSCORE = 0x5f;
const BACKSLASH = 0x5c;

/**
 * True when the raw body may name an object: it contains `_id` (every `…_id` / `…_ids` field), `item_r`
 * (`item_reference`), `code_interpreter` (whose tool may name a container) or a `\u` escape (which could spell any
 * of those). One native byte search per underscore or backslash instead of substring searches: this runs on every
 * JSON request.
 */
function mayNameObjects(raw: Buffer): boolean {
  for (let i = raw.indexOf(UNDERSCORE); i !== -1; i = raw.indexOf(UNDERSCORE, i + 1)) {
    const next = raw[i + 1];
    if (next === 0x69 /* i */ && raw[i + 2] === 0x64 /* d */) return true;
    // item_reference
    if (next === 0x72 /* r */ && raw[i - 1] === 0x6d && raw[i - 2] === 0x65 && raw[i - 3] === 0x74 && raw[i - 4] === 0x69) return true;
    // code_interpreter: a tool that may name its container
    if (next === 0x69 /* i */ && raw[i + 2] === 0x6e && raw[i - 1] === 0x65 && raw[i - 2] === 0x64 && raw[i - 3] === 0x6f && raw[i - 4] === 0x63) return true;
  }
  // Every backslash in JSON starts an escape of at least two characters, so stepping by two stays aligned.
  for (let i = raw.indexOf(BACKSLASH); i !== -1; i = raw.indexOf(BACKSLASH, i + 2)) {
    if (raw[i + 1] === 0x75 /* u */) return true;
  }
  return false;
}

/**
 * The objects a JSON body names. Cheap for ordinary requests: the body is walked only when its raw bytes contain
 * `_id`, `item_reference` or a `\u` escape (a key spelled `"file\u005fid"` is still found, since it has an
 * escape); otherwise only three top-level fields are read.
 */
export function objectReferencesOf(json: Record<string, unknown>, raw: Buffer): readonly ObjectReference[] {
  if (!mayNameObjects(raw)) {
    // The common case (an ordinary chat request): no allocation unless a top-level reference field is present.
    if (json.training_file === undefined && json.validation_file === undefined && json.conversation === undefined) {
      return NO_REFERENCES;
    }
    const out: ObjectReference[] = [];
    for (const field of TOP_LEVEL_FIELDS) collect(field, REFERENCE_FIELDS[field] as ObjectKind, json[field], out);
    return out;
  }
  const out: ObjectReference[] = [];
  walk(json, out);
  if (out.length > MAX_REFERENCES) {
    throw new KeywardenError('KW_BAD_REQUEST', { message: `The request names more than ${MAX_REFERENCES} stored objects.` });
  }
  return out;
}

/** Iterative (a deeply nested body must not overflow the stack), visiting each value once. */
function walk(root: Record<string, unknown>, out: ObjectReference[]): void {
  const stack: unknown[] = [root];
  let visited = 0;
  while (stack.length > 0) {
    const value = stack.pop();
    if (++visited > MAX_VISITED) throw new KeywardenError('KW_BAD_REQUEST', { message: 'The request body is too complex.' });
    if (Array.isArray(value)) {
      for (const item of value) if (typeof item === 'object' && item !== null) stack.push(item);
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    const record = value as Record<string, unknown>;
    if (record.type === 'item_reference') {
      // An item reference pulls an item of some stored response by its id, which the gateway does not track.
      throw new KeywardenError('KW_BAD_REQUEST', {
        message: 'Item references are not supported through this gateway; send the item itself.',
        param: 'input',
      });
    }
    // An eval run's file source: `{ "type": "file_id", "id": "file-…" }` names its file by `id`, not `file_id`.
    if (record.type === 'file_id') collectOne('id', 'file', record.id, out);
    const citesContainerFile = record.type === CONTAINER_FILE_CITATION;
    for (const field of Object.keys(record)) {
      const child = record[field];
      const kind = REFERENCE_FIELDS[field];
      if (kind !== undefined && !(citesContainerFile && kind === 'file')) collect(field, kind, child, out);
      else if (field === CONTAINER_FIELD && typeof child === 'string' && record.type === CODE_INTERPRETER) collectOne(field, 'container', child, out);
      if (typeof child === 'object' && child !== null) stack.push(child);
    }
  }
}

/**
 * A reference is an id string, an object carrying an `id` (`conversation: {id}`), or an array of either; null names
 * nothing. Any other shape is refused: a lenient upstream might coerce it into an id the gateway never checked.
 */
function collect(field: string, kind: ObjectKind, value: unknown, out: ObjectReference[]): void {
  if (value === null || value === undefined) return;
  if (Array.isArray(value)) {
    for (const item of value) collectOne(field, kind, item, out);
  } else {
    collectOne(field, kind, value, out);
  }
}

function collectOne(field: string, kind: ObjectKind, value: unknown, out: ObjectReference[]): void {
  if (typeof value === 'string') {
    out.push({ kind, id: value, param: field });
    return;
  }
  const id = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as { id?: unknown }).id : undefined;
  if (typeof id === 'string') {
    out.push({ kind, id, param: field });
    return;
  }
  throw new KeywardenError('KW_BAD_REQUEST', { message: `'${field}' must name an object by its id.`, param: field });
}
