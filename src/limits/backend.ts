/**
 * The counter backend: every check of one request happens in one atomic `acquire`, all or nothing, so concurrent
 * requests cannot slip between a check and its reservation. This process keeps counters in memory (and spend in
 * the durable ledger); a Redis backend for several replicas implements the same interface with one script.
 */
/**
 * Whose counter a check uses. Absent (or `key`): the request's key. `project`: the counter of the project
 * `scopeId` (a `prj_…` id), shared by every key of that project — the same check then passes or fails for all of
 * them together. A backend keys its state by `scopeId` instead of the key id, and must decide all scopes of one
 * request in the same atomic acquire.
 */
export interface CounterScope {
  scope?: 'key' | 'project';
  scopeId?: string;
}

export interface RateCheck extends CounterScope {
  /** Stable id of the limit within its owner (key or project), with its value, e.g. `rpm@60` or `rule0:rpm@10`: a changed limit starts a fresh counter. */
  id: string;
  limit: number;
  periodMs: number;
}

export interface TokenCheck extends RateCheck {
  /** Tokens charged up front; corrected at settlement. */
  amount: number;
}

export interface BudgetCheck extends CounterScope {
  periodKey: string;
  limitUsd: number;
  /**
   * Whose spend this budget counts, when not the requesting key's: an ephemeral child key's request also
   * reserves against its parent's budgets (the parent's key id here), in the same atomic acquire.
   */
  subject?: string;
}

/**
 * Check arrays handed to acquire() for many requests (a key plan's rate checks, and its budget checks for a
 * minute), never mutated: a backend may cache what it derives from one, by the array's identity. Registered in a
 * weak set rather than frozen: a frozen array takes V8's slow path in `for…of`, which allocates on every step.
 * Arrays built per request (a project's or a parent's checks added) are not registered, and not cached.
 */
const sharedCheckArrays = new WeakSet<readonly object[]>();

export function shareChecks<T extends readonly RateCheck[] | readonly BudgetCheck[]>(checks: T): T {
  sharedCheckArrays.add(checks);
  return checks;
}

export function isSharedChecks(checks: readonly RateCheck[] | readonly BudgetCheck[]): boolean {
  return sharedCheckArrays.has(checks);
}

export interface AcquireRequest {
  keyId: string;
  now: number;
  /** Shared between requests (compiled per key version): read only. */
  rates: readonly RateCheck[];
  tokens: TokenCheck[];
  concurrency: number | null;
  /** In-flight cap shared by the key's project (`projectId`); null or absent: none. */
  projectConcurrency?: { projectId: string; limit: number } | null;
  /** Key and project budgets alike (see CounterScope); the reservation is charged to each. Read only (shared). */
  budgets: readonly BudgetCheck[];
  /** Worst-case cost reserved against every budget. */
  reserveUsd: number;
}

export interface LimitSnapshot {
  limit: number;
  remaining: number;
  resetMs: number;
}

export type RefusalReason = 'rate' | 'tokens' | 'concurrency' | 'budget';

export interface Refusal {
  reason: RefusalReason;
  retryAfterMs: number;
  /** For the budget refusal: the period that is spent. */
  periodKey?: string;
  /** Set when the refusing limit is the project's (shared), not the key's own. */
  scope?: 'project';
  requests?: LimitSnapshot;
  tokens?: LimitSnapshot;
}

export interface Ticket {
  id: string;
  keyId: string;
  tokens: TokenCheck[];
  holdsConcurrency: boolean;
  /** The project whose concurrency slot this ticket holds, if any. */
  projectConcurrencyId?: string;
  budgetPeriodKeys: string[];
  /** The project budget periods reserved against (same amount as the key's). */
  project?: { id: string; periodKeys: string[] };
  reservedUsd: number;
  settled: boolean;
  /** Reservations held against other keys' budgets (a child key's parent), settled with this ticket. */
  shared?: Array<{ subject: string; periodKeys: string[]; reservationId: string }>;
}

export type AcquireResult =
  | {
      ok: true;
      ticket: Ticket;
      requests?: LimitSnapshot;
      tokens?: LimitSnapshot;
      /**
       * Set when the reservation is admitted but its ledger write is still pending (the SQLite journal writes a
       * turn's reservations together): the request must not be forwarded before it resolves. It rejects, with the
       * reservation already undone, when the write fails. Shared by every reservation of the same write.
       */
      durable?: Promise<void>;
    }
  | { ok: false; refusal: Refusal };

export interface Settlement {
  costUsd: number;
  tokensUsed: number;
}

/**
 * acquire, budgetRemaining and settle may answer synchronously (the in-process backend does once a key's spend is
 * in memory: no promise on the request path) or with a promise (a shared backend's round trip). Callers on the hot
 * path check `instanceof Promise` instead of awaiting unconditionally.
 */
export interface LimitsBackend {
  acquire(request: AcquireRequest): AcquireResult | Promise<AcquireResult>;
  /** Smallest remaining amount across the given budgets, key and project (spent and reserved both count). */
  budgetRemaining(keyId: string, budgets: readonly BudgetCheck[]): number | Promise<number>;
  /** Settles a ticket exactly once: tokens corrected, concurrency released, reservation turned into spend. */
  settle(ticket: Ticket, settlement: Settlement, now: number): void | Promise<void>;
  /** Requests of this key in flight right now. */
  inflight(keyId: string): Promise<number>;
  /** Settled spend per period key of a key or a project (by its id), for display. */
  spent(keyId: string, periodKeys: readonly string[]): Promise<Record<string, number>>;
  /** False while a shared backend cannot be reached (absent: always reachable, as in-process counters are). */
  available?(): boolean;
}
