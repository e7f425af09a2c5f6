/**
 * Persistence records and the async Store interface. Callers depend only on this file, so a PostgreSQL
 * implementation can replace SQLite without touching them.
 */

import type { AuthAttemptRepository, AuthTokenRepository, SessionRepository, UserRepository } from './auth-types.js';
import type { KeyPropagationWaiter } from './key-propagation.js';

export type * from './auth-types.js';

export type ProviderKind = 'openai' | 'azure' | 'openai-compatible';

export interface KeyScopes {
  /** Glob patterns of allowed models; empty means any model. */
  models: string[];
  /** Allowed endpoint groups (see policy/endpoint-groups.ts). */
  endpoints: string[];
  /** Allowed client networks (IPv4/IPv6 CIDRs or single IPs); empty means any. */
  ipAllowlist: string[];
  /** Per-key body cap in bytes; null means the server default. */
  maxBodyBytes: number | null;
  /** Other keys whose stored objects (files, responses, …) this key may also use; absent means none. */
  objectsFrom?: string[];
}

export interface VirtualKeyRecord {
  id: string;
  name: string;
  /** HMAC-SHA256 of the current secret under the server pepper. */
  hash: string;
  /** Last 4 characters of the current secret, for display as `kw_…abcd`. */
  last4: string;
  /** The secret that rotation replaced, still valid until previousHashExpiresAt. */
  previousHash: string | null;
  previousHashExpiresAt: number | null;
  upstreamId: string | null;
  /** Upstreams tried in order when the primary fails before answering (connect error, 5xx, 429); see gateway/fallback.ts. */
  fallbackUpstreamIds: readonly string[];
  scopes: KeyScopes;
  /** Rate limits and budgets; shape owned by limits/, stored opaquely here. */
  limits: Record<string, unknown>;
  metadata: Record<string, string>;
  createdAt: number;
  updatedAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
  suspendedAt: number | null;
  suspendedReason: string | null;
  rotatedAt: number | null;
  /** A honeytoken: any use raises a critical alert and is refused like a spent quota; never forwarded. */
  canary?: boolean;
  /** The key an ephemeral child was minted from; its spend also counts against the parent's budgets. */
  parentId?: string | null;
  /** The project (team) the key belongs to; its limits apply on top of the key's. Absent or null: none. */
  projectId?: string | null;
}

/** A team of keys with shared limits (rates, budgets) and a model allowlist, applied on top of each key's. */
export interface ProjectRecord {
  id: string;
  name: string;
  /** Glob patterns of allowed models; empty means any model (the keys' own scopes still apply). */
  models: string[];
  /** Shared limits; shape owned by limits/ (see projectLimitsSchema), stored opaquely here. */
  limits: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
}

export type ProjectPatch = Partial<Pick<ProjectRecord, 'name' | 'models' | 'limits'>>;

export interface ProjectRepository {
  insert(record: ProjectRecord): Promise<void>;
  get(id: string): Promise<ProjectRecord | null>;
  getByName(name: string): Promise<ProjectRecord | null>;
  list(): Promise<ProjectRecord[]>;
  /** updatedAt strictly increases, so caches keyed on (id, updatedAt) see every change. */
  update(id: string, patch: ProjectPatch, now: number): Promise<ProjectRecord | null>;
  remove(id: string): Promise<boolean>;
}

export interface UpstreamKeyRecord {
  id: string;
  /** Vault ciphertext; plaintext exists only in memory. */
  ciphertext: string;
  last4: string;
  /** Set while `upstreams rotate-key` drains it: new requests use the other keys. */
  retiring?: boolean;
  /** When it was vaulted (ms); absent on keys vaulted before this was recorded (the upstream's createdAt applies). */
  createdAt?: number;
  /** The provider's id for this key (OpenAI `key_…`), known when keywarden created or linked it. */
  providerKeyId?: string;
}

export interface UpstreamRecord {
  id: string;
  name: string;
  provider: ProviderKind;
  baseUrl: string;
  /** Azure only: api-version query parameter. */
  apiVersion: string | null;
  /** Azure only: model name → deployment name. */
  deployments: Record<string, string>;
  keys: UpstreamKeyRecord[];
  isDefault: boolean;
  createdAt: number;
}

export interface UsageRecord {
  id: string;
  ts: number;
  keyId: string;
  upstreamId: string | null;
  endpoint: string;
  model: string | null;
  status: number;
  stream: boolean;
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  /** USD; null when the model is missing from the pricing table. */
  costUsd: number | null;
  /** True when costUsd is null because no price was known. */
  priceMissing: boolean;
  latencyMs: number;
  clientIp: string;
  /** Stable machine code of a gateway-side denial or failure (e.g. upstream_timeout), else null. */
  errorCode: string | null;
  /** The upstream key (uk_…) the request was sent with; absent on records from before it was recorded. */
  upstreamKeyId?: string | null;
}

export interface UsageQuery {
  since?: number;
  until?: number;
  keyId?: string;
  /** At most this many records (in (ts, id) order); all when absent. */
  limit?: number;
  /** Keyset cursor: only records strictly after this (ts, id). */
  after?: { ts: number; id: string };
}

/** Dimensions a usage summary can be grouped by; the default is all three. */
export const USAGE_GROUPS = ['key', 'model', 'day'] as const;
export type UsageGroup = (typeof USAGE_GROUPS)[number];
/** The summary row field each grouping dimension fills. */
export const USAGE_GROUP_FIELDS = { key: 'keyId', model: 'model', day: 'day' } as const satisfies Record<UsageGroup, string>;

/** Summary row; a dimension that is not grouped on is absent. */
export interface UsageSummaryRow {
  keyId?: string;
  model?: string | null;
  day?: string;
  requests: number;
  errors: number;
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  costUsd: number;
  unpricedRequests: number;
}

/** What an admin token may do: viewer reads; admin also manages keys and alerts; owner does everything. */
export type AdminRole = 'owner' | 'admin' | 'viewer';

export interface AdminTokenRecord {
  id: string;
  name: string;
  hash: string;
  last4: string;
  role: AdminRole;
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
  revokedAt: number | null;
  /** A project-limited token sees and manages only that project's keys and usage. Absent or null: unlimited. */
  projectId?: string | null;
}

export type KeyPatch = Partial<
  Pick<
    VirtualKeyRecord,
    | 'name'
    | 'hash'
    | 'last4'
    | 'previousHash'
    | 'previousHashExpiresAt'
    | 'upstreamId'
    | 'fallbackUpstreamIds'
    | 'scopes'
    | 'limits'
    | 'metadata'
    | 'expiresAt'
    | 'revokedAt'
    | 'suspendedAt'
    | 'suspendedReason'
    | 'rotatedAt'
    | 'projectId'
  >
>;

export interface KeyRepository {
  insert(record: VirtualKeyRecord): Promise<void>;
  get(id: string): Promise<VirtualKeyRecord | null>;
  /** Finds a key by its current or (still-valid or not) previous secret hash. */
  findByHash(hash: string): Promise<VirtualKeyRecord | null>;
  /**
   * findByHash answered synchronously when the repository can (an embedded database, a remembered answer that is
   * still current), else undefined: then call findByHash. The same answer findByHash would give; it lets the
   * request path stay synchronous up to the body read.
   */
  findByHashNow?(hash: string): VirtualKeyRecord | null | undefined;
  list(): Promise<VirtualKeyRecord[]>;
  /** One page in (createdAt, id) order (ids compared bytewise on both stores), after a position, optionally one project's. */
  listPage(page: KeyPageQuery): Promise<VirtualKeyRecord[]>;
  update(id: string, patch: KeyPatch, now: number): Promise<VirtualKeyRecord | null>;
}

export interface KeyPageQuery {
  /** The (createdAt, id) of the previous page's last key. */
  after?: { createdAt: number; id: string };
  limit: number;
  /** Only this project's keys; absent: every key. */
  projectId?: string;
  /**
   * Only keys not revoked whose limits carry at least one budget (the monitor's budget detector reads these on every
   * evaluation, page by page, rather than every key of the store).
   */
  withBudgets?: boolean;
}

/** What `upstreams update` may change; keys change only through replaceKeys. */
export type UpstreamPatch = Partial<Pick<UpstreamRecord, 'name' | 'baseUrl' | 'apiVersion' | 'deployments' | 'isDefault'>>;

/** A key's last request (any outcome), or null if it was never used; see UsageRepository.lastUsedAt. */
export interface KeyLastUseRow {
  keyId: string;
  lastUsedAt: number | null;
}

export interface UpstreamRepository {
  insert(record: UpstreamRecord): Promise<void>;
  update(id: string, patch: UpstreamPatch): Promise<UpstreamRecord | null>;
  get(id: string): Promise<UpstreamRecord | null>;
  getByName(name: string): Promise<UpstreamRecord | null>;
  list(): Promise<UpstreamRecord[]>;
  remove(id: string): Promise<boolean>;
  replaceKeys(id: string, keys: UpstreamKeyRecord[]): Promise<void>;
}

export interface UsageRepository {
  insertMany(records: readonly UsageRecord[]): Promise<void>;
  list(query: UsageQuery): Promise<UsageRecord[]>;
  summarize(query: UsageQuery, groupBy?: readonly UsageGroup[]): Promise<UsageSummaryRow[]>;
  /**
   * The newest record's time for each of these keys (one row per id asked, in that order), for `keys list`: one
   * seek of the (key_id, ts) index per key, never a scan of the history. Spend comes from the rollups instead.
   */
  lastUsedAt(keyIds: readonly string[]): Promise<KeyLastUseRow[]>;
  /** Distinct (key, endpoint, model) of answered requests since `since`: what each key actually uses (doctor). */
  usedScopes(since: number): Promise<Array<{ keyId: string; endpoint: string; model: string | null }>>;
  /** Records in [since, until) summed per value of a rollup dimension, counted exactly as the monitor's rollups count. */
  totalsBy(query: UsageTotalsQuery): Promise<UsageTotalsRow[]>;
  /** A key's newest records, newest first; reads at most `limit` rows (the (key_id, ts) index). */
  recentForKey(keyId: string, limit: number): Promise<UsageRecord[]>;
}

/** The rollup dimensions (monitor/repositories.ts RollupDim), for reading raw records the same way. */
export type UsageTotalsDim = 'all' | 'key' | 'model' | 'upstream';

export interface UsageTotalsQuery {
  dim: UsageTotalsDim;
  since: number;
  until: number;
  keyId?: string;
}

/** Like a rollup total: errors are status >= 400 or 0, a null model/upstream is "(none)", `all` is "*". */
export interface UsageTotalsRow {
  dimValue: string;
  requests: number;
  errors: number;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  reasoningTokens: number;
  costUsd: number;
  unpriced: number;
  latencySumMs: number;
  latencyMaxMs: number;
}

export interface AdminTokenRepository {
  insert(record: AdminTokenRecord): Promise<void>;
  findByHash(hash: string): Promise<AdminTokenRecord | null>;
  list(): Promise<AdminTokenRecord[]>;
  count(): Promise<number>;
  get(id: string): Promise<AdminTokenRecord | null>;
  /** Sets revokedAt once; returns the record as it is now, or null when there is no such token. */
  revoke(id: string, now: number): Promise<AdminTokenRecord | null>;
  touch(id: string, now: number): Promise<void>;
}

/** Small key/value table for server metadata such as the wrapped vault data key. */
export interface MetaRepository {
  get(name: string): Promise<string | null>;
  set(name: string, value: string): Promise<void>;
}

export interface ReservationRecord {
  id: string;
  keyId: string;
  usd: number;
  periodKeys: string[];
  createdAt: number;
  /** The key's project, when it has budgets too: the same amount is reserved against these of its periods. */
  projectId?: string;
  projectPeriodKeys?: string[];
}

export interface SpendSettlement {
  /** The reservation this closes; null for spend that had no reservation. */
  reservationId: string | null;
  keyId: string;
  periodKeys: string[];
  usd: number;
  /** Charged to the project's periods as well (see ReservationRecord). */
  projectId?: string;
  projectPeriodKeys?: string[];
}

/**
 * The durable spend ledger behind budgets. A reservation is durable before its request is forwarded (the returned
 * promise resolves then), so a crash leaves a trail that reconciliation can charge; settlements are batched.
 */
export interface SpendRepository {
  /** Settled spend per period key for one virtual key, or for one project (by its prj_ id). */
  spentFor(keyId: string): Promise<Record<string, number>>;
  /**
   * Durable before it returns or resolves; a store that can write synchronously returns nothing (no promise per
   * request). `headroomUsd`: what the key's tightest budget still allows after this reservation; a store may use it
   * to journal a larger block that covers the next reservations too (the SQLite ledger's leases).
   */
  reserve(reservation: ReservationRecord, headroomUsd?: number): void | Promise<void>;
  settle(settlement: SpendSettlement): void | Promise<void>;
  /** Crash recovery: charges every still-open reservation in full and closes it. Returns how many there were. */
  reconcileOpenReservations(): Promise<number>;
}

/** Kinds of provider-side objects the gateway records an owner for (see gateway/object-routes.ts). */
export const OBJECT_KINDS = [
  'chat_completion',
  'response',
  'conversation',
  'file',
  'batch',
  'vector_store',
  'upload',
  'fine_tuning_job',
  'model',
  'assistant',
  'thread',
  'video',
  'eval',
  'container',
  'skill',
  // ChatKit: a session, the end-user name a session was started for (its threads are that user's), and a thread.
  'chatkit_session',
  'chatkit_user',
  'chatkit_thread',
] as const;
export type ObjectKind = (typeof OBJECT_KINDS)[number];

/** A provider-side object created through a virtual key: only that key (or one its owner names) may use it. */
export interface OwnedObjectRecord {
  kind: ObjectKind;
  /** The provider's id (`file-…`, `resp_…`, `ft:…`). */
  id: string;
  ownerKeyId: string;
  /** The upstream that holds the object. */
  upstreamId: string | null;
  createdAt: number;
}

export interface ObjectRepository {
  /** Records an owner; the first owner of an id wins, so a replayed or colliding id never changes hands. */
  insert(record: OwnedObjectRecord): Promise<void>;
  get(kind: ObjectKind, id: string): Promise<OwnedObjectRecord | null>;
  /** Newest first; `kind` narrows to one kind. */
  listByOwner(ownerKeyId: string, kind?: ObjectKind, limit?: number): Promise<OwnedObjectRecord[]>;
}

export interface Store extends Partial<KeyPropagationWaiter> {
  readonly keys: KeyRepository;
  readonly spend: SpendRepository;
  readonly upstreams: UpstreamRepository;
  readonly usage: UsageRepository;
  readonly adminTokens: AdminTokenRepository;
  readonly meta: MetaRepository;
  readonly objects: ObjectRepository;
  readonly projects: ProjectRepository;
  /** Console accounts (store/auth-types.ts). */
  readonly users: UserRepository;
  readonly sessions: SessionRepository;
  readonly authAttempts: AuthAttemptRepository;
  readonly authTokens: AuthTokenRepository;
  close(): Promise<void>;
}
