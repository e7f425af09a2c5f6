/**
 * The counter backend: every check of one request happens in one atomic `acquire`, all or nothing, so concurrent
 * requests cannot slip between a check and its reservation. This process keeps counters in memory (and spend in
 * the durable ledger); a Redis backend for several replicas implements the same interface with one script.
 */
export interface RateCheck {
  /** Stable id of the limit within the key, e.g. `rpm` or `rule0:rpm`. */
  id: string;
  limit: number;
  periodMs: number;
}

export interface TokenCheck extends RateCheck {
  /** Tokens charged up front; corrected at settlement. */
  amount: number;
}

export interface BudgetCheck {
  periodKey: string;
  limitUsd: number;
  /**
   * Whose spend this budget counts, when not the requesting key's: an ephemeral child key's request also
   * reserves against its parent's budgets (the parent's key id here), in the same atomic acquire.
   */
  subject?: string;
}

export interface AcquireRequest {
  keyId: string;
  now: number;
  rates: RateCheck[];
  tokens: TokenCheck[];
  concurrency: number | null;
  budgets: BudgetCheck[];
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
  requests?: LimitSnapshot;
  tokens?: LimitSnapshot;
}

export interface Ticket {
  id: string;
  keyId: string;
  tokens: TokenCheck[];
  holdsConcurrency: boolean;
  budgetPeriodKeys: string[];
  reservedUsd: number;
  settled: boolean;
  /** Reservations held against other keys' budgets (a child key's parent), settled with this ticket. */
  shared?: Array<{ subject: string; periodKeys: string[]; reservationId: string }>;
}

export type AcquireResult = { ok: true; ticket: Ticket; requests?: LimitSnapshot; tokens?: LimitSnapshot } | { ok: false; refusal: Refusal };

export interface Settlement {
  costUsd: number;
  tokensUsed: number;
}

export interface LimitsBackend {
  acquire(request: AcquireRequest): Promise<AcquireResult>;
  /** Smallest remaining amount across the given budgets (spent and reserved both count). */
  budgetRemaining(keyId: string, budgets: readonly BudgetCheck[]): Promise<number>;
  /** Settles a ticket exactly once: tokens corrected, concurrency released, reservation turned into spend. */
  settle(ticket: Ticket, settlement: Settlement, now: number): Promise<void>;
  /** Requests of this key in flight right now. */
  inflight(keyId: string): Promise<number>;
  /** Settled spend per period key, for display. */
  spent(keyId: string, periodKeys: readonly string[]): Promise<Record<string, number>>;
}
