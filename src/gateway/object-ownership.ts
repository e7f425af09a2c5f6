import { KeywardenError } from '../errors/index.js';
import { describeError, type Logger } from '../log/logger.js';
import type { ObjectKind, ObjectRepository, OwnedObjectRecord, VirtualKeyRecord } from '../store/index.js';
import { KeyVersionCache } from '../util/key-version-cache.js';
import { isJsonObject, valueAtPath } from '../util/json-object.js';
import { filterOwnedList } from './object-list-filter.js';
import { NO_REFERENCES, objectReferencesOf, type ObjectReference } from './object-references.js';
import {
  MAX_OBJECT_ID_LENGTH,
  matchObjectRoute,
  type DerivedObject,
  type ObjectCollection,
  type ObjectRoute,
} from './object-routes.js';
import { derivedSseObjects, firstSseObject } from './sse-first-object.js';

/**
 * Object ownership, the gateway stage between policy and limits. The upstream sees one vaulted key for every
 * virtual key, so it cannot tell apps apart: the gateway records which key created each stored object and lets only
 * that key (or a key whose `objects_from` scope names it) read, change, cancel, delete or reference it. Unknown and
 * foreign ids get the same 404 `not_found`, so the answer is no oracle for ids that exist for someone else.
 * Objects created before ownership was recorded (or outside the gateway) are therefore unreachable through it.
 */

/** What a request asks of the ownership stage, found without any lookup (see `inspect`). */
export interface OwnershipCheck {
  route: ObjectRoute | null;
  references: readonly ObjectReference[];
}

export interface OwnershipRequest {
  json: Record<string, unknown> | null;
  /** The query string as received (`?…` or empty). */
  search: string;
  key: VirtualKeyRecord;
  upstreamId: string;
  now: number;
  /**
   * Reads an object back from the upstream with the vaulted key (a `/v1/…` path): null when the upstream does not
   * know it. Used for objects made where the gateway cannot see (ObjectCollection.ownedThrough).
   */
  readBack?: (path: string) => Promise<Record<string, unknown> | null>;
}

/** What forwarding must do for ownership: observe (or filter) the upstream's answer. */
export interface OwnershipPlan {
  /** A rewritten query string for the upstream (a filtered list asks for a fuller page). */
  search?: string;
  transformJson?: (body: unknown) => unknown;
  onSseEvent?: (event: string) => void;
}

interface Grants {
  /** The key itself plus the keys its `objects_from` scope names. */
  owners: ReadonlySet<string>;
  /** Only the literal `models:delete` endpoint grant allows deleting models (`*` does not). */
  mayDeleteModels: boolean;
}

export const MODELS_DELETE_GRANT = 'models:delete';
const FINE_TUNED_PREFIX = 'ft:';
/** Own objects considered when filtering a list; an owner with more has its oldest ones filtered out of lists. */
const LIST_LOOKUP_LIMIT = 100_000;
const MAX_CACHED = 100_000;

function grantsOf(key: VirtualKeyRecord): Grants {
  return {
    owners: new Set([key.id, ...(key.scopes.objectsFrom ?? [])]),
    mayDeleteModels: key.scopes.endpoints.includes(MODELS_DELETE_GRANT),
  };
}

const ID_PATH: readonly string[] = ['id'];

/** The owner cache's key: ids are unique per kind only. */
function cacheKeyOf(kind: ObjectKind, id: string): string {
  return `${kind}\u0000${id}`;
}

/** Whether a POST to the collection leaves objects of other kinds behind, which must be recorded too. */
function createsDerived(collection: ObjectCollection, json: Record<string, unknown> | null): boolean {
  return json !== null && collection.createsDerived?.(json) === true;
}

/** Whether a POST to the collection leaves a stored object behind (chat completions only with `store: true`). */
function recordsCreation(collection: ObjectCollection, json: Record<string, unknown> | null): boolean {
  switch (collection.create) {
    case 'always':
      return true;
    case 'when_store_true':
      return json?.store === true;
    case 'unless_store_false':
      return json?.store !== false;
    case 'never':
      return false;
  }
}

/** OpenAI's default page size, and the fuller page a filtered list asks the upstream for. */
const DEFAULT_PAGE_SIZE = 20;
const FILTERED_PAGE_SIZE = 100;

/**
 * A filtered page asks the upstream for at least FILTERED_PAGE_SIZE items and returns at most the client's `limit`
 * of its own, so other keys' objects rarely leave it short or empty. A malformed `limit` is left for the upstream to
 * reject as it always did.
 */
function overfetch(search: string): { search: string; limit: number } | null {
  const params = new URLSearchParams(search);
  const asked = params.get('limit');
  const limit = asked === null ? DEFAULT_PAGE_SIZE : Number(asked);
  if (!Number.isInteger(limit) || limit < 1) return null;
  params.set('limit', String(Math.max(limit, FILTERED_PAGE_SIZE)));
  return { search: `?${params.toString()}`, limit };
}

function notFound(id: string, param: string | null = null): KeywardenError {
  // One message for unknown and foreign ids alike. The id is the client's own input, shown only when short.
  const message = id.length > 0 && id.length <= 128 ? `No such object: '${id}'.` : 'No such object.';
  return new KeywardenError('KW_NOT_FOUND', { message, param });
}

export class ObjectOwnership {
  /** Write-through cache of known owners: ownership never changes, so entries never go stale. */
  private readonly cache = new Map<string, OwnedObjectRecord>();
  private readonly pending = new Set<Promise<void>>();
  private readonly grants = new KeyVersionCache(grantsOf);

  constructor(
    private readonly repo: ObjectRepository,
    private readonly logger: Logger,
  ) {}

  /**
   * Synchronous and allocation-free for an ordinary chat request (no `store`, no ids): null means the request
   * creates, lists and names no stored object, and needs no guard.
   */
  inspect(method: string, path: string, json: Record<string, unknown> | null, body: Buffer): OwnershipCheck | null {
    const route = matchObjectRoute(method, path);
    const references = json ? this.referencesOf(json, body) : NO_REFERENCES;
    if (references.length === 0) {
      if (route === null) return null;
      if (route.type === 'create' && !recordsCreation(route.collection, json) && !createsDerived(route.collection, json)) return null;
    }
    return { route, references };
  }

  /** The objects a JSON body names (`raw`: its bytes), a fine-tuned model it runs on included. */
  referencesOf(json: Record<string, unknown>, raw: Buffer): readonly ObjectReference[] {
    const references = objectReferencesOf(json, raw);
    // Inference with a fine-tuned model uses what it learned from its owner's data: it is the owner's to use.
    const model = json.model;
    if (typeof model === 'string' && model.startsWith(FINE_TUNED_PREFIX)) return [...references, { kind: 'model', id: model, param: 'model' }];
    return references;
  }

  /** Throws `not_found` unless the key may use every object named (on this upstream). */
  async requireReferences(references: readonly ObjectReference[], key: VirtualKeyRecord, upstreamId: string): Promise<void> {
    if (references.length > 0) await this.requireAll(references, this.grants.get(key), upstreamId);
  }

  /**
   * Checks ownership and returns what forwarding must observe, or null. Throws `not_found` for a path or body that
   * names an object the key may not use.
   */
  async guard(check: OwnershipCheck, req: OwnershipRequest): Promise<OwnershipPlan | null> {
    const { route, references } = check;
    if (route?.type === 'refuse') throw route.message === undefined ? notFound('') : new KeywardenError('KW_NOT_FOUND', { message: route.message });
    const refusal = route && req.json ? (route.collection.refuseBody?.(req.json) ?? null) : null;
    if (refusal !== null) throw new KeywardenError('KW_BAD_REQUEST', { message: refusal });
    const grants = this.grants.get(req.key);
    await this.requireAll(references, grants, req.upstreamId);
    if (route === null) return null;
    switch (route.type) {
      case 'create': {
        if (route.collection.claims) await this.claim(route.collection.claims, grants, req);
        const recordsItself = recordsCreation(route.collection, req.json);
        return recordsItself || createsDerived(route.collection, req.json) ? this.planCreate(route.collection, req, recordsItself) : null;
      }
      case 'operation': {
        const records = route.collection.operations?.[route.operation]?.records;
        return records ? this.observeJson((body) => this.recordDerived([records], body, req.key.id, req)) : null;
      }
      case 'list':
        return route.collection.ownedThrough ? this.planListThrough(route.collection.kind, route.collection.ownedThrough, grants, req) : this.planList(route.collection, grants, req);
      case 'object':
        return this.planObject(route.collection, route.id, route.method, route.action, grants, req);
    }
  }

  /** Waits for owner records still being written (on shutdown, so a restart finds them). */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  /** `recordsItself`: the created object is stored (else only the objects it leaves behind are recorded). */
  private planCreate(collection: ObjectCollection, req: OwnershipRequest, recordsItself = true): OwnershipPlan {
    const owner = req.key.id;
    const derived = collection.derived;
    const onObject = (object: Record<string, unknown>): void => {
      if (recordsItself && typeof object.id === 'string') this.record(collection.kind, object.id, owner, req);
      if (derived) this.recordDerived(derived, object, owner, req);
    };
    if (req.json?.stream !== true) return this.observeJson(onObject);
    // A streamed creation names its id in the first event (`response.created`, or every chat chunk); it is
    // recorded before that event reaches the client, so the client's very next request already finds it. Objects it
    // leaves behind (a container) are named in later events, each recorded before the event that names it is relayed.
    const first = recordsItself ? firstSseObject(onObject) : null;
    const later = derived && collection.derivedInEvent ? derivedSseObjects(derived, collection.derivedInEvent, (object) => this.recordDerived(derived, object, owner, req)) : null;
    if (first && later) {
      return {
        onSseEvent: (event) => {
          first(event);
          later(event);
        },
      };
    }
    const only = first ?? later;
    return only ? { onSseEvent: only } : {};
  }

  private async planList(collection: ObjectCollection, grants: Grants, req: OwnershipRequest): Promise<OwnershipPlan> {
    const owned = new Map<string, string>();
    for (const owner of grants.owners) {
      for (const record of await this.repo.listByOwner(owner, collection.kind, LIST_LOOKUP_LIMIT)) {
        if (record.upstreamId === null || record.upstreamId === req.upstreamId) owned.set(record.id, record.ownerKeyId);
      }
    }
    const page = collection.ownedPrefix === undefined ? overfetch(req.search) : null;
    return {
      ...(page ? { search: page.search } : {}),
      transformJson: (body) =>
        filterOwnedList(body, {
          visible: (id) => owned.has(id) || (collection.ownedPrefix !== undefined && !id.startsWith(collection.ownedPrefix)),
          onVisible: collection.derived
            ? (item) => {
                const owner = typeof item.id === 'string' ? owned.get(item.id) : undefined;
                if (owner !== undefined) this.recordDerived(collection.derived ?? [], item, owner, req);
              }
            : undefined,
          limit: page?.limit,
        }),
    };
  }

  private async planObject(
    collection: ObjectCollection,
    id: string,
    method: string,
    action: string | null,
    grants: Grants,
    req: OwnershipRequest,
  ): Promise<OwnershipPlan | null> {
    if (collection.kind === 'model' && method === 'DELETE' && !grants.mayDeleteModels) {
      // Checked before ownership, so the answer says nothing about whether the model exists.
      throw new KeywardenError('KW_ENDPOINT_NOT_ALLOWED', {
        message: `Deleting models needs the "${MODELS_DELETE_GRANT}" endpoint grant.`,
      });
    }
    const isPublic = collection.ownedPrefix !== undefined && !id.startsWith(collection.ownedPrefix) && method === 'GET';
    if (isPublic) return null; // a base model (GET /v1/models/gpt-4o) belongs to no one
    if (collection.ownedThrough) await this.learnOwner(collection, collection.ownedThrough, id, req);
    const record = await this.require(collection.kind, id, grants, req.upstreamId, null);
    if (method === 'POST' && action !== null && collection.creatingActions?.includes(action) === true) {
      // A remix is a new object made from one the key may use: it is the requesting key's, like any creation.
      return this.planCreate(collection, req);
    }
    const derived = collection.derived;
    if (!derived) return null;
    // Reading a job names the model it produced; reading a batch its output files: they go to the same owner.
    const onObject = (object: Record<string, unknown>): void => this.recordDerived(derived, object, record.ownerKeyId, req);
    const plan = this.observeJson(onObject);
    // A response read back as a stream (`GET /v1/responses/{id}?stream=true`, a background response's usual read)
    // names its containers in events, as its creation's stream does. Which of the two the answer is, its content
    // type decides (forward.ts), not the query's spelling.
    return collection.derivedInEvent ? { ...plan, onSseEvent: derivedSseObjects(derived, collection.derivedInEvent, onObject) } : plan;
  }

  /**
   * Claims for the key the object a creation's body names in `claims.field` (a ChatKit session's `user`), or refuses
   * the creation when another key holds it. The claim is written and read back before the request goes on, so of
   * two keys racing for one name (on this replica or another) the store's first writer holds it.
   */
  private async claim(claims: { kind: ObjectKind; field: string }, grants: Grants, req: OwnershipRequest): Promise<void> {
    const name = req.json?.[claims.field];
    if (typeof name !== 'string' || name.length === 0 || name.length > MAX_OBJECT_ID_LENGTH) {
      throw new KeywardenError('KW_BAD_REQUEST', { message: `'${claims.field}' must be a string of 1 to ${MAX_OBJECT_ID_LENGTH} characters.`, param: claims.field });
    }
    let record = await this.lookup(claims.kind, name);
    if (record === null) {
      await this.repo.insert({ kind: claims.kind, id: name, ownerKeyId: req.key.id, upstreamId: req.upstreamId, createdAt: req.now });
      record = await this.repo.get(claims.kind, name);
      if (record) this.remember(record);
    }
    if (record === null || !grants.owners.has(record.ownerKeyId) || (record.upstreamId !== null && record.upstreamId !== req.upstreamId)) {
      throw new KeywardenError('KW_NOT_FOUND', {
        message: `'${claims.field}' names one that belongs to another key: each is the first key's that used it.`,
        param: claims.field,
      });
    }
  }

  /**
   * A list of objects owned through another (ChatKit threads, through their user): the query must name one object
   * the key may use, and only items that name it are returned (the upstream filters by it; a hostile one is not
   * trusted to). Items kept are recorded for that object's owner, so reading one later needs no read-back.
   */
  private async planListThrough(kind: ObjectKind, through: { kind: ObjectKind; field: string }, grants: Grants, req: OwnershipRequest): Promise<OwnershipPlan> {
    const named = new URLSearchParams(req.search).getAll(through.field);
    const name = named[0];
    if (named.length !== 1 || name === undefined || name === '') {
      throw new KeywardenError('KW_BAD_REQUEST', { message: `Name one '${through.field}' in the query: a key lists only its own.`, param: through.field });
    }
    const owner = await this.require(through.kind, name, grants, req.upstreamId, through.field);
    return {
      transformJson: (body) =>
        filterOwnedList(body, {
          visible: (_id, item) => item[through.field] === name,
          onVisible: (item) => this.record(kind, item.id as string, owner.ownerKeyId, req),
        }),
    };
  }

  /**
   * For an object made where the gateway cannot see: when its owner is not known yet, reads it back from the
   * upstream and records it for the owner of the object it names (a ChatKit thread's `user`). Unknown upstream-side,
   * or naming nothing the gateway knows, it stays unowned, and `require` answers not found.
   */
  private async learnOwner(collection: ObjectCollection, through: { kind: ObjectKind; field: string }, id: string, req: OwnershipRequest): Promise<void> {
    if (id.length === 0 || id.length > MAX_OBJECT_ID_LENGTH || req.readBack === undefined || (await this.lookup(collection.kind, id)) !== null) return;
    const object = await req.readBack(`/v1/${collection.segments.join('/')}/${encodeURIComponent(id)}`);
    const name = object?.[through.field];
    if (object === null || object.id !== id || typeof name !== 'string') return;
    const owner = await this.lookup(through.kind, name);
    // A name held on another upstream is another organisation's namesake: the thread stays unowned here.
    if (owner !== null && (owner.upstreamId === null || owner.upstreamId === req.upstreamId)) this.record(collection.kind, id, owner.ownerKeyId, req);
  }

  private observeJson(onObject: (object: Record<string, unknown>) => void): OwnershipPlan {
    return {
      transformJson: (body) => {
        if (isJsonObject(body)) onObject(body);
        return body;
      },
    };
  }

  private async requireAll(references: readonly ObjectReference[], grants: Grants, upstreamId: string): Promise<void> {
    for (const ref of references) await this.require(ref.kind, ref.id, grants, upstreamId, ref.param);
  }

  private async require(
    kind: ObjectKind,
    id: string,
    grants: Grants,
    upstreamId: string,
    param: string | null,
  ): Promise<OwnedObjectRecord> {
    const record = id.length > 0 && id.length <= MAX_OBJECT_ID_LENGTH ? await this.lookup(kind, id) : null;
    if (record === null || !grants.owners.has(record.ownerKeyId) || (record.upstreamId !== null && record.upstreamId !== upstreamId)) {
      throw notFound(id, param);
    }
    return record;
  }

  private async lookup(kind: ObjectKind, id: string): Promise<OwnedObjectRecord | null> {
    const hit = this.cache.get(cacheKeyOf(kind, id));
    if (hit) return hit;
    const record = await this.repo.get(kind, id);
    if (record) this.remember(record);
    return record;
  }

  private remember(record: OwnedObjectRecord): void {
    if (this.cache.size >= MAX_CACHED) this.cache.clear();
    this.cache.set(cacheKeyOf(record.kind, record.id), record);
  }

  private recordDerived(fields: readonly DerivedObject[], object: Record<string, unknown>, owner: string, req: OwnershipRequest): void {
    for (const derived of fields) {
      const value = object[derived.field];
      const values = Array.isArray(value) ? value : [value];
      for (const item of values) {
        const member = typeof item === 'object' && item !== null ? (item as Record<string, unknown>) : null;
        if (derived.itemType !== undefined && member?.type !== derived.itemType) continue;
        const id = typeof item === 'string' ? item : member !== null ? valueAtPath(member, derived.idPath ?? ID_PATH) : undefined;
        if (typeof id === 'string' && (derived.prefix === undefined || id.startsWith(derived.prefix))) {
          this.record(derived.kind, id, owner, req);
        }
      }
    }
  }

  /**
   * Records an owner: in the cache at once (the next request must see it), then in the store. The first owner of
   * an id wins; if the store already had another owner (a hostile upstream re-issuing an id), the cache is
   * corrected to the stored owner once the write settles.
   */
  private record(kind: ObjectKind, id: string, ownerKeyId: string, req: OwnershipRequest): void {
    if (id.length === 0 || id.length > MAX_OBJECT_ID_LENGTH) return;
    const known = this.cache.get(cacheKeyOf(kind, id));
    if (known) {
      if (known.ownerKeyId !== ownerKeyId) this.logger.warn('upstream re-issued an object id owned by another key', { kind });
      return;
    }
    const record: OwnedObjectRecord = { kind, id, ownerKeyId, upstreamId: req.upstreamId, createdAt: req.now };
    this.remember(record);
    const write = this.repo
      .insert(record)
      .then(() => this.repo.get(kind, id))
      .then((stored) => {
        if (stored && stored.ownerKeyId !== ownerKeyId) {
          this.logger.warn('upstream re-issued an object id owned by another key', { kind });
          this.remember(stored);
        }
      })
      .catch((err: unknown) => this.logger.error('could not record an object owner', describeError(err)))
      .finally(() => this.pending.delete(write));
    this.pending.add(write);
  }
}
