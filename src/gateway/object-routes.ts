import type { ObjectKind } from '../store/index.js';
import { isJsonObject } from '../util/json-object.js';

/**
 * The route table of object ownership: which OpenAI paths create, list or name a stored object, and of what kind.
 * Paths are matched after normalization (normalize-path.ts), so dot segments, double slashes and percent-encoded
 * separators are already resolved; collection names are matched case-insensitively so `/v1/Files/{id}` cannot
 * slip past on an upstream that routes case-insensitively, while ids are compared exactly.
 */

/** When a POST to the collection creates an object the gateway must record. */
export type CreatePolicy = 'always' | 'when_store_true' | 'unless_store_false' | 'never';

/** An object the upstream hands out as a side effect, named by a field of another object's JSON. */
export interface DerivedObject {
  kind: ObjectKind;
  /** Top-level field holding an id, an array of ids, or an object with an `id`. */
  field: string;
  /** Only ids with this prefix count (e.g. `ft:` for fine-tuned models). */
  prefix?: string;
  /**
   * Where each object in `field` holds the id, when not in `id`: an output item's `container_id`, or a shell call's
   * `environment.container_id`.
   */
  idPath?: readonly string[];
  /** Only objects of `field` with this `type` count. */
  itemType?: string;
}

export interface ObjectCollection {
  kind: ObjectKind;
  /** Path segments after `/v1`, lower-case. */
  segments: readonly string[];
  create: CreatePolicy;
  /** GET on the collection lists objects, and the list is filtered to the key's own. */
  listable: boolean;
  /** Sub-paths that are operations rather than object ids (`POST /v1/responses/input_tokens`). */
  operations?: Readonly<Record<string, { records?: DerivedObject }>>;
  /** Objects named in this kind's JSON that belong to the same owner (a batch's output file, a job's model). */
  derived?: readonly DerivedObject[];
  /** Only ids with this prefix are owned objects; others (base models) are public and pass unchecked for reads. */
  ownedPrefix?: string;
  /**
   * Sub-paths of one object where a POST creates a new object of the same kind, recorded for the requesting key
   * (`POST /v1/videos/{id}/remix`): the source must be the key's, and so is what it makes.
   */
  creatingActions?: readonly string[];
  /**
   * Sub-paths of the collection the gateway cannot vouch for, refused on every method (they would otherwise read as
   * object ids, and be refused as unknown ones): e.g. `POST /v1/videos/edits`, whose multipart body may name a source
   * video the gateway does not parse.
   */
  unsupported?: readonly string[];
  /**
   * A creation whose body names, in `field`, an object that the key claims by naming it: the first key to name it
   * owns it, and another key's creation naming it is refused. A ChatKit session is started for an end user's name,
   * and its client secret reads every thread of that user, so each user name belongs to one key.
   */
  claims?: { kind: ObjectKind; field: string };
  /**
   * Objects made where the gateway cannot see (a ChatKit thread is made by the app's front end, which talks to the
   * provider with a session's client secret): each belongs to the owner of the object its `field` names. A list must
   * name that object in the query parameter of the same name; an object the gateway has not seen is read back from
   * the upstream, once, to learn it.
   */
  ownedThrough?: { kind: ObjectKind; field: string };
  /** A body the gateway refuses for this collection, whatever the method: the reason, or null when it may go on. */
  refuseBody?: (json: Record<string, unknown>) => string | null;
  /**
   * A creation that leaves `derived` objects behind even when it stores nothing of its own kind (a Responses call
   * with `store: false` whose code interpreter starts a container): it is observed for them all the same.
   */
  createsDerived?: (json: Record<string, unknown>) => boolean;
  /**
   * For a streamed creation: the object `derived` is read from in one event (the response an event carries, or one
   * output item as the response's output), or null. Only events whose text holds a `derived` id field are parsed.
   */
  derivedInEvent?: (event: Record<string, unknown>) => Record<string, unknown> | null;
}

/**
 * The containers a response's tool calls ran in, started by the request (a code interpreter's `container: {type:
 * "auto"}`, a shell tool's `environment: {type: "container_auto"}`) or named by it.
 */
const TOOL_CONTAINERS: readonly DerivedObject[] = [
  { kind: 'container', field: 'output', itemType: 'code_interpreter_call', idPath: ['container_id'] },
  { kind: 'container', field: 'output', itemType: 'shell_call', idPath: ['environment', 'container_id'] },
];

/** A tool that lets the provider start a container: a code interpreter not given a container id, a shell tool on `container_auto`. */
function startsContainer(json: Record<string, unknown>): boolean {
  const tools = json.tools;
  return (
    Array.isArray(tools) &&
    tools.some(
      (tool) =>
        isJsonObject(tool) &&
        ((tool.type === 'code_interpreter' && typeof tool.container !== 'string') || (tool.type === 'shell' && isJsonObject(tool.environment) && tool.environment.type === 'container_auto')),
    )
  );
}

/** `response.*` events carry the response; `response.output_item.*` events carry one output item. */
function responseInEvent(event: Record<string, unknown>): Record<string, unknown> | null {
  if (isJsonObject(event.response)) return event.response;
  return isJsonObject(event.item) ? { output: [event.item] } : null;
}

const FILE_RESULTS: readonly DerivedObject[] = [
  { kind: 'file', field: 'output_file_id' },
  { kind: 'file', field: 'error_file_id' },
];

export const OBJECT_COLLECTIONS: readonly ObjectCollection[] = [
  { kind: 'chat_completion', segments: ['chat', 'completions'], create: 'when_store_true', listable: true },
  {
    kind: 'response',
    segments: ['responses'],
    create: 'unless_store_false',
    // OpenAI has no public list of responses: a GET on the collection is refused rather than passed on unfiltered.
    listable: false,
    operations: { input_tokens: {}, compact: {} },
    derived: TOOL_CONTAINERS,
    createsDerived: startsContainer,
    derivedInEvent: responseInEvent,
  },
  { kind: 'conversation', segments: ['conversations'], create: 'always', listable: false },
  { kind: 'file', segments: ['files'], create: 'always', listable: true },
  { kind: 'batch', segments: ['batches'], create: 'always', listable: true, derived: FILE_RESULTS },
  { kind: 'vector_store', segments: ['vector_stores'], create: 'always', listable: true },
  { kind: 'upload', segments: ['uploads'], create: 'always', listable: false, derived: [{ kind: 'file', field: 'file' }] },
  {
    kind: 'fine_tuning_job',
    segments: ['fine_tuning', 'jobs'],
    create: 'always',
    listable: true,
    derived: [
      { kind: 'model', field: 'fine_tuned_model', prefix: 'ft:' },
      { kind: 'file', field: 'result_files' },
    ],
  },
  { kind: 'assistant', segments: ['assistants'], create: 'always', listable: true },
  {
    kind: 'thread',
    segments: ['threads'],
    create: 'always',
    listable: false,
    // POST /v1/threads/runs creates a thread and a run; the run names its new thread.
    operations: { runs: { records: { kind: 'thread', field: 'thread_id' } } },
  },
  // Models are created by fine-tuning jobs (see `derived` above), never by a POST here.
  { kind: 'model', segments: ['models'], create: 'never', listable: true, ownedPrefix: 'ft:' },
  {
    kind: 'video',
    segments: ['videos'],
    create: 'always',
    listable: true,
    creatingActions: ['remix'],
    // Edits and extensions name their source video inside a multipart body, and characters are a kind of their own
    // that videos may use: none of them can be checked here, so none is forwarded.
    unsupported: ['edits', 'extensions', 'characters'],
  },
  // Code interpreter containers and the files in them: everything below /v1/containers/{id} is the container owner's.
  { kind: 'container', segments: ['containers'], create: 'always', listable: true },
  // Skills (bundles a container mounts) and their versions and content.
  { kind: 'skill', segments: ['skills'], create: 'always', listable: true },
  // An eval and its runs, output items and results: everything below /v1/evals/{id} is the eval owner's.
  { kind: 'eval', segments: ['evals'], create: 'always', listable: true, refuseBody: orgWideEvalSource },
  { kind: 'chatkit_session', segments: ['chatkit', 'sessions'], create: 'always', listable: false, claims: { kind: 'chatkit_user', field: 'user' } },
  { kind: 'chatkit_thread', segments: ['chatkit', 'threads'], create: 'never', listable: true, ownedThrough: { kind: 'chatkit_user', field: 'user' } },
];

/**
 * Run sources that read the organisation's stored chat completions or responses: made through every virtual key
 * alike, so an eval run over them would hand one key the others' conversations. Files and inline items are fine.
 */
const ORG_WIDE_SOURCES: ReadonlySet<unknown> = new Set(['stored_completions', 'responses']);

/** Bounds the walk on hostile bodies (already parsed and bounded in size by the body cap). */
const MAX_EVAL_BODY_NODES = 200_000;

function orgWideEvalSource(json: Record<string, unknown>): string | null {
  const stack: unknown[] = [json];
  for (let visited = 0; stack.length > 0; visited++) {
    if (visited > MAX_EVAL_BODY_NODES) return 'The request body is too complex.';
    const value = stack.pop();
    if (Array.isArray(value)) {
      for (const item of value) stack.push(item);
      continue;
    }
    if (!isJsonObject(value)) continue;
    const source = value.source;
    if (isJsonObject(source) && ORG_WIDE_SOURCES.has(source.type)) {
      return `An eval run over the organisation's stored ${String(source.type).replace('_', ' ')} would read other keys' data; use a file or inline items.`;
    }
    for (const child of Object.values(value)) if (typeof child === 'object' && child !== null) stack.push(child);
  }
  return null;
}

/**
 * First segments under which every path must match the table: anything else there is refused (fail closed), e.g.
 * `/v1/fine_tuning/checkpoints/{ckpt}/permissions`, which would share another key's checkpoint, or a ChatKit route
 * the table does not know.
 */
const CLOSED_GROUPS = new Set(['fine_tuning', 'chatkit']);

export type ObjectRoute =
  | { type: 'create'; collection: ObjectCollection; operation?: undefined }
  | { type: 'operation'; collection: ObjectCollection; operation: string }
  | { type: 'list'; collection: ObjectCollection }
  /**
   * The path names an object: every method on it (and below it) needs ownership. `action`: the one sub-path
   * segment after the id, lower-cased (`remix`), or null.
   */
  | { type: 'object'; collection: ObjectCollection; id: string; method: string; action: string | null }
  /** Refused as not found: a method or sub-path the gateway cannot vouch for (`message` says which, when known). */
  | { type: 'refuse'; message?: string };

const FIRST_SEGMENTS = new Set([...OBJECT_COLLECTIONS.map((c) => c.segments[0] as string), ...CLOSED_GROUPS]);
const CHAT_PATH = '/v1/chat/completions';
const CHAT_COLLECTION = OBJECT_COLLECTIONS[0] as ObjectCollection;
const CHAT_CREATE: ObjectRoute = { type: 'create', collection: CHAT_COLLECTION };
const CHAT_LIST: ObjectRoute = { type: 'list', collection: CHAT_COLLECTION };
const REFUSE: ObjectRoute = { type: 'refuse' };
/** The longest id the gateway will look up; OpenAI's are far shorter. Longer ids are simply unknown. */
export const MAX_OBJECT_ID_LENGTH = 256;

/**
 * Classifies a normalized `/v1/...` path. Returns null for paths that neither create, list nor name an object
 * (the ordinary inference routes), after one cheap look at the first segment.
 */
export function matchObjectRoute(method: string, path: string): ObjectRoute | null {
  // The hot path: an ordinary chat request, classified without splitting the path.
  if (path === CHAT_PATH) return method === 'POST' ? CHAT_CREATE : method === 'GET' ? CHAT_LIST : REFUSE;
  const end = path.indexOf('/', 4);
  const first = (end === -1 ? path.slice(4) : path.slice(4, end)).toLowerCase();
  if (!FIRST_SEGMENTS.has(first)) return null;
  const segments = path.slice(4).split('/');
  if (segments[segments.length - 1] === '') segments.pop(); // a trailing slash names the same resource
  for (const collection of OBJECT_COLLECTIONS) {
    const route = matchCollection(collection, segments, method);
    if (route !== null) return route;
  }
  return CLOSED_GROUPS.has(first) ? { type: 'refuse' } : null;
}

function matchCollection(collection: ObjectCollection, segments: readonly string[], method: string): ObjectRoute | null {
  const prefix = collection.segments;
  if (segments.length < prefix.length) return null;
  for (let i = 0; i < prefix.length; i++) if (segments[i]?.toLowerCase() !== prefix[i]) return null;
  if (segments.length === prefix.length) {
    if (method === 'POST' && collection.create !== 'never') return { type: 'create', collection };
    if (method === 'GET' && collection.listable) return { type: 'list', collection };
    // Other methods on a collection (DELETE /v1/files …) have no meaning in the API: refuse rather than forward.
    return { type: 'refuse' };
  }
  const raw = segments[prefix.length] as string;
  let id: string;
  try {
    id = decodeURIComponent(raw);
  } catch {
    return { type: 'refuse' };
  }
  if (collection.unsupported?.includes(id.toLowerCase()) === true) {
    return { type: 'refuse', message: `/v1/${prefix.join('/')}/${id.toLowerCase()} is not supported through this gateway.` };
  }
  const operation = collection.operations?.[id.toLowerCase()];
  if (operation !== undefined && segments.length === prefix.length + 1) {
    return method === 'POST' ? { type: 'operation', collection, operation: id.toLowerCase() } : { type: 'refuse' };
  }
  if (id.length === 0 || id.length > MAX_OBJECT_ID_LENGTH) return { type: 'refuse' };
  const action = segments.length === prefix.length + 2 ? (segments[prefix.length + 1] as string).toLowerCase() : null;
  return { type: 'object', collection, id, method, action };
}
