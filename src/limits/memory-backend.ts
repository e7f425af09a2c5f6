import { randomBytes } from 'node:crypto';
import { KeywardenError } from '../errors/index.js';
import type { SpendRepository } from '../store/index.js';
import { isSharedChecks, type AcquireRequest, type AcquireResult, type BudgetCheck, type CounterScope, type LimitSnapshot, type LimitsBackend, type RateCheck, type Settlement, type Ticket, type TokenCheck } from './backend.js';
import { gcra, gcraAdmit, type GcraDecision } from './gcra.js';
import { adjustInPlace, chargeInPlace, levelAfterTake, take, type BucketDecision, type BucketState } from './token-bucket.js';

/**
 * Reservation ids: a random prefix per process and a counter, unique across restarts and replicas (the prefix has
 * 96 random bits) without a random UUID per request.
 */
const RESERVATION_PREFIX = `res_${randomBytes(12).toString('base64url')}_`;
let reservationCounter = 0;
function nextReservationId(): string {
  reservationCounter += 1;
  return RESERVATION_PREFIX + reservationCounter.toString(36);
}

/** Shared by tickets without key budgets; frozen, so a mistaken push throws instead of leaking between tickets. */
const NO_PERIODS = Object.freeze([]) as unknown as string[];
/** The spend entries of a request without budgets. */
const NO_ENTRIES: readonly PeriodSpend[] = [];

interface PeriodSpend {
  spent: number;
  reserved: number;
}

/** The id a counter is kept under: the project's for a shared limit, else the key's. */
function ownerOf(check: CounterScope, keyId: string): string {
  return check.scope === 'project' && check.scopeId !== undefined ? check.scopeId : keyId;
}

/**
 * Counter ids (`owner|limit id`), one string per pair kept for reuse: no string is built and hashed per request
 * (an admission looks up ~3 counters and its settlement 1). Cleared when it grows past a bound (ephemeral child
 * keys are owners too), which only costs rebuilding the strings.
 */
const COUNTER_ID_OWNERS_MAX = 10_000;
const counterIds = new Map<string, Map<string, string>>();
function counterId(check: CounterScope & { id: string }, keyId: string): string {
  const owner = ownerOf(check, keyId);
  let ids = counterIds.get(owner);
  if (ids === undefined) {
    if (counterIds.size >= COUNTER_ID_OWNERS_MAX) counterIds.clear();
    ids = new Map();
    counterIds.set(owner, ids);
  }
  let id = ids.get(check.id);
  if (id === undefined) {
    id = `${owner}|${check.id}`;
    ids.set(check.id, id);
  }
  return id;
}

/** Whose spend a budget counts: a named subject (a child key's parent), the project, or the requesting key. */
function budgetOwner(budget: BudgetCheck, keyId: string): string {
  return budget.subject ?? ownerOf(budget, keyId);
}

function isProjectBudget(check: BudgetCheck): check is BudgetCheck & { scopeId: string } {
  return check.scope === 'project' && check.scopeId !== undefined;
}

/** The period keys a ticket reserves against: the key's, and its project's. Shared between tickets: read only. */
interface TicketPeriods {
  keyPeriodKeys: string[];
  project: { id: string; periodKeys: string[] } | undefined;
}

/**
 * A key plan hands out the same budget array for every request of a minute (shareChecks): its ticket periods
 * are derived once. Arrays built per request (a project's or a parent's budgets added) are not kept.
 */
const ticketPeriodsByBudgets = new WeakMap<readonly BudgetCheck[], TicketPeriods>();

function ticketPeriodsOf(budgets: readonly BudgetCheck[]): TicketPeriods {
  const known = ticketPeriodsByBudgets.get(budgets);
  if (known) return known;
  const keyPeriodKeys: string[] = [];
  let project: TicketPeriods['project'];
  for (const budget of budgets) {
    if (isProjectBudget(budget)) (project ??= { id: budget.scopeId, periodKeys: [] }).periodKeys.push(budget.periodKey);
    else keyPeriodKeys.push(budget.periodKey);
  }
  const periods: TicketPeriods = { keyPeriodKeys: keyPeriodKeys.length === 0 ? NO_PERIODS : keyPeriodKeys, project };
  if (isSharedChecks(budgets)) ticketPeriodsByBudgets.set(budgets, periods);
  return periods;
}

/** A rate counter's theoretical arrival time (GCRA), in an object so that a key's shortcuts can hold it. */
interface RateCell {
  tat: number;
}

/**
 * Shortcuts to one key's counters, so that an admission finds them with one lookup (by key id) instead of one or
 * two per counter and budget. Each holds the very objects kept in the backend's maps, resolved for one of the key
 * plan's shared arrays (shareChecks) and used only for that same array, matched by identity: the rate cells of its
 * rate checks, and the spend entries of its budget checks for the minute (whose owner is the key itself). Arrays
 * built per request (a project's or a parent's checks added) are resolved through the maps every time. A pure
 * cache: the objects it holds stay in the maps, so dropping it loses nothing.
 */
interface KeyShortcuts {
  rates: readonly RateCheck[] | null;
  rateCells: RateCell[];
  budgets: readonly BudgetCheck[] | null;
  /** The spend entry of each of `budgets`, in order. */
  budgetEntries: PeriodSpend[];
  /** The key period keys of the tickets reserved against `budgets` (ticketPeriodsOf): settlement matches on it. */
  periodKeys: readonly string[] | null;
}

/** Keys whose shortcuts are kept; past it they are dropped and rebuilt (ephemeral child keys are keys too). */
const SHORTCUT_KEYS_MAX = 10_000;

/**
 * Counters for one gateway process. Rate and token state live in memory; budget spend is loaded from, and
 * written through to, the durable spend ledger, so a restart never refills a budget. A reservation is on disk
 * before the request is forwarded, which is what lets a crash be reconciled on the next start.
 */
export class MemoryLimitsBackend implements LimitsBackend {
  private readonly tats = new Map<string, RateCell>();
  private readonly shortcuts = new Map<string, KeyShortcuts>();
  private readonly buckets = new Map<string, BucketState>();
  private readonly inflightByKey = new Map<string, number>();
  private readonly spend = new Map<string, Map<string, PeriodSpend>>();
  private readonly loading = new Map<string, Promise<Map<string, PeriodSpend>>>();
  // decide()'s pending counter updates, reused by every call (decide runs start to end without awaiting, so no two
  // calls share them): no arrays or tuples allocated per admission.
  /** The new TAT of each rate counter, then the new level of each token bucket. */
  private readonly pendingValues: number[] = [];
  /** Per token check: its counter id and its bucket (undefined before the counter's first request). */
  private readonly pendingIds: string[] = [];
  private readonly pendingBuckets: Array<BucketState | undefined> = [];
  /** Rate cells and spend entries resolved for an array that is not cached (see KeyShortcuts); filled by index. */
  private readonly scratchCells: RateCell[] = [];
  private readonly scratchEntries: PeriodSpend[] = [];
  /** The ledger write the latest reservations wait on, and the tickets to undo if it fails (see durableWith). */
  private pendingWrite: { written: Promise<void> | null; durable: Promise<void>; tickets: Ticket[] } = { written: null, durable: Promise.resolve(), tickets: [] };

  constructor(private readonly ledger: SpendRepository) {}

  private loadSpend(keyId: string): Promise<Map<string, PeriodSpend>> | Map<string, PeriodSpend> {
    const loaded = this.spend.get(keyId);
    if (loaded) return loaded;
    let pending = this.loading.get(keyId);
    if (!pending) {
      pending = this.ledger.spentFor(keyId).then((rows) => {
        const map = new Map(Object.entries(rows).map(([period, usd]) => [period, { spent: usd, reserved: 0 }]));
        this.spend.set(keyId, map);
        this.loading.delete(keyId);
        return map;
      });
      this.loading.set(keyId, pending);
    }
    return pending;
  }

  private period(map: Map<string, PeriodSpend>, periodKey: string): PeriodSpend {
    let entry = map.get(periodKey);
    if (!entry) {
      entry = { spent: 0, reserved: 0 };
      map.set(periodKey, entry);
    }
    return entry;
  }

  /**
   * Makes sure the spend of every owner (key, project, parent) the budgets name is in memory. Once it is (every
   * request after an owner's first) this returns nothing and allocates nothing: no promise, no microtask hop.
   * Loaded spend is never dropped, so `this.spend.get(owner)` is defined from then on; budgets whose entries the
   * key's shortcuts hold are loaded by definition.
   */
  private ensureOwnersLoaded(keyId: string, budgets: readonly BudgetCheck[]): void | Promise<void> {
    if (this.shortcuts.get(keyId)?.budgets === budgets) return;
    for (const budget of budgets) {
      if (!this.spend.has(budgetOwner(budget, keyId))) return this.loadOwnersFromLedger(keyId, budgets);
    }
  }

  private async loadOwnersFromLedger(keyId: string, budgets: readonly BudgetCheck[]): Promise<void> {
    for (const budget of budgets) await this.loadSpend(budgetOwner(budget, keyId));
  }

  budgetRemaining(keyId: string, budgets: readonly BudgetCheck[]): number | Promise<number> {
    const loading = this.ensureOwnersLoaded(keyId, budgets);
    if (loading) return loading.then(() => this.remainingLoaded(keyId, budgets));
    return this.remainingLoaded(keyId, budgets);
  }

  private remainingLoaded(keyId: string, budgets: readonly BudgetCheck[]): number {
    const entries = this.budgetEntries(this.shortcutsOf(keyId), budgets, keyId);
    let remaining = Infinity;
    for (let i = 0; i < budgets.length; i++) {
      const entry = entries[i] as PeriodSpend;
      remaining = Math.min(remaining, (budgets[i] as BudgetCheck).limitUsd - (entry.spent + entry.reserved));
    }
    return remaining;
  }

  private shortcutsOf(keyId: string): KeyShortcuts {
    let shortcuts = this.shortcuts.get(keyId);
    if (shortcuts === undefined) {
      if (this.shortcuts.size >= SHORTCUT_KEYS_MAX) this.shortcuts.clear();
      shortcuts = { rates: null, rateCells: [], budgets: null, budgetEntries: [], periodKeys: null };
      this.shortcuts.set(keyId, shortcuts);
    }
    return shortcuts;
  }

  /** The counter cell of each rate check, in order: the key's cached ones for its plan's array (see KeyShortcuts). */
  private rateCells(shortcuts: KeyShortcuts, rates: readonly RateCheck[], keyId: string): readonly RateCell[] {
    if (shortcuts.rates === rates) return shortcuts.rateCells;
    const shared = isSharedChecks(rates);
    const cells = shared ? new Array<RateCell>(rates.length) : this.scratchCells;
    for (let i = 0; i < rates.length; i++) cells[i] = this.rateCell(counterId(rates[i] as RateCheck, keyId));
    if (shared) {
      shortcuts.rates = rates;
      shortcuts.rateCells = cells;
    }
    return cells;
  }

  private rateCell(id: string): RateCell {
    let cell = this.tats.get(id);
    if (cell === undefined) {
      cell = { tat: 0 };
      this.tats.set(id, cell);
    }
    return cell;
  }

  /**
   * The spend entry of each budget, in order (owners loaded): the key's cached ones for its plan's array of the
   * minute (see KeyShortcuts). An owner not in memory gets a detached entry: counted as nothing spent, and a
   * reservation on it is kept nowhere (as before the shortcuts).
   */
  private budgetEntries(shortcuts: KeyShortcuts, budgets: readonly BudgetCheck[], keyId: string): readonly PeriodSpend[] {
    if (shortcuts.budgets === budgets) return shortcuts.budgetEntries;
    const shared = isSharedChecks(budgets);
    const entries = shared ? new Array<PeriodSpend>(budgets.length) : this.scratchEntries;
    for (let i = 0; i < budgets.length; i++) {
      const budget = budgets[i] as BudgetCheck;
      const map = this.spend.get(budgetOwner(budget, keyId));
      entries[i] = map ? this.period(map, budget.periodKey) : { spent: 0, reserved: 0 };
    }
    // Only once the key's spend is loaded: a detached entry must not be kept.
    if (shared && this.spend.has(keyId)) {
      shortcuts.budgets = budgets;
      shortcuts.budgetEntries = entries;
      shortcuts.periodKeys = ticketPeriodsOf(budgets).keyPeriodKeys;
    }
    return entries;
  }

  /**
   * Synchronous once the key's spend is in memory (see ensureOwnersLoaded) and the ledger writes synchronously
   * (the SQLite journal): then a request is decided, reserved and journaled with no promise at all.
   */
  acquire(request: AcquireRequest): AcquireResult | Promise<AcquireResult> {
    const budgets = request.budgets;
    for (const budget of budgets) {
      if (budget.subject !== undefined && budget.subject !== request.keyId) return this.acquireShared(request);
    }
    const loading = budgets.length > 0 ? this.ensureOwnersLoaded(request.keyId, budgets) : undefined;
    // After the load, from here to the end of the checks nothing awaits: the decision is atomic within this process.
    if (loading) return loading.then(() => this.decide(request));
    return this.decide(request);
  }

  private decide(request: AcquireRequest): AcquireResult | Promise<AcquireResult> {
    const { keyId, now, rates, tokens, budgets } = request;
    const budgeted = budgets.length > 0;
    const shortcuts = this.shortcutsOf(keyId);
    // Decided on numbers (gcraAdmit, levelAfterTake): a passing check allocates nothing; a refusal asks the full
    // decision (gcra, take) for its details. The scratch arrays are filled from index 0 and never truncated:
    // `length = 0` would drop their backing stores, and every call would allocate them again.
    const values = this.pendingValues;
    const cells = this.rateCells(shortcuts, rates, keyId);
    for (let i = 0; i < rates.length; i++) {
      const rate = rates[i] as RateCheck;
      const tat = (cells[i] as RateCell).tat;
      const next = gcraAdmit(tat, now, rate.limit, rate.periodMs);
      if (Number.isNaN(next)) return rateRefusal(rate, gcra(tat, now, rate.limit, rate.periodMs));
      values[i] = next;
    }
    const ids = this.pendingIds;
    const buckets = this.pendingBuckets;
    for (let i = 0; i < tokens.length; i++) {
      const check = tokens[i] as TokenCheck;
      const id = counterId(check, keyId);
      const bucket = this.buckets.get(id);
      const state = bucket ?? { level: check.limit, at: now };
      const level = levelAfterTake(state, now, check.amount, check.limit, check.periodMs);
      if (Number.isNaN(level)) return tokensRefusal(check, take(state, now, check.amount, check.limit, check.periodMs), this.requestsSnapshot(request));
      ids[i] = id;
      buckets[i] = bucket;
      values[rates.length + i] = level;
    }
    const inflight = this.inflightByKey.get(keyId) ?? 0;
    if (request.concurrency !== null && inflight >= request.concurrency) {
      return { ok: false, refusal: { reason: 'concurrency', retryAfterMs: 1000 } };
    }
    // Project slots are counted under the project's id in the same map: key_… and prj_… ids never collide.
    const shared = request.projectConcurrency ?? null;
    const projectInflight = shared ? (this.inflightByKey.get(shared.projectId) ?? 0) : 0;
    if (shared && projectInflight >= shared.limit) {
      return { ok: false, refusal: { reason: 'concurrency', retryAfterMs: 1000, scope: 'project' } };
    }
    // What the tightest budget allows after this reservation (the ledger may journal a block of it: a lease).
    let headroomUsd = Infinity;
    const entries = budgeted ? this.budgetEntries(shortcuts, budgets, keyId) : NO_ENTRIES;
    for (let i = 0; i < budgets.length; i++) {
      const budget = budgets[i] as BudgetCheck;
      const entry = entries[i] as PeriodSpend;
      const used = entry.spent + entry.reserved;
      if (used + request.reserveUsd > budget.limitUsd + 1e-12) {
        return { ok: false, refusal: { reason: 'budget', retryAfterMs: 0, periodKey: budget.periodKey, ...(isProjectBudget(budget) ? { scope: 'project' as const } : {}) } };
      }
      const left = budget.limitUsd - used - request.reserveUsd;
      if (left < headroomUsd) headroomUsd = left;
    }

    // Every check passed: commit all of them.
    for (let i = 0; i < rates.length; i++) (cells[i] as RateCell).tat = values[i] as number;
    for (let i = 0; i < tokens.length; i++) {
      const level = values[rates.length + i] as number;
      const bucket = buckets[i];
      if (bucket) chargeInPlace(bucket, now, level);
      else this.buckets.set(ids[i] as string, { level, at: now });
      buckets[i] = undefined; // nothing of this request stays reachable from the scratch array
    }
    if (request.concurrency !== null) this.inflightByKey.set(keyId, inflight + 1);
    if (shared) this.inflightByKey.set(shared.projectId, projectInflight + 1);
    const ticket = this.ticketFor(request, shared);
    const result: AcquireResult & { ok: true } = { ok: true, ticket, durable: undefined };
    if (!budgeted) return result;
    for (let i = 0; i < budgets.length; i++) (entries[i] as PeriodSpend).reserved += ticket.reservedUsd;
    let written: void | Promise<void>;
    try {
      written = this.ledger.reserve({
        id: ticket.id,
        keyId,
        usd: ticket.reservedUsd,
        periodKeys: ticket.budgetPeriodKeys,
        createdAt: now,
        projectId: ticket.project?.id,
        projectPeriodKeys: ticket.project?.periodKeys,
      }, headroomUsd);
    } catch (err) {
      return this.unreserve(ticket, now, err);
    }
    if (written) result.durable = this.durableWith(written, ticket, now);
    return result;
  }

  /**
   * For the headers of a tokens refusal: the tightest of the request's rate checks, all of which passed (decided
   * again, as nothing was committed). Undefined when the key has no rate limits.
   */
  private requestsSnapshot(request: AcquireRequest): LimitSnapshot | undefined {
    let requests: LimitSnapshot | undefined;
    for (const rate of request.rates) {
      const decision = gcra(this.tats.get(counterId(rate, request.keyId))?.tat ?? 0, request.now, rate.limit, rate.periodMs);
      if (!requests || decision.remaining < requests.remaining) requests = { limit: rate.limit, remaining: decision.remaining, resetMs: decision.resetMs };
    }
    return requests;
  }

  /**
   * The promise a reservation's request waits on before it is forwarded. The journal answers a whole turn's
   * reservations with one promise, so one failure handler per write undoes all of its tickets: no promise or
   * closure per request. (A ledger that answers each reservation with its own promise gets one per request.)
   */
  private durableWith(written: Promise<void>, ticket: Ticket, now: number): Promise<void> {
    if (written !== this.pendingWrite.written) {
      const tickets: Ticket[] = [];
      const durable = written.then(undefined, (err: unknown) => {
        for (const t of tickets) this.undoReservation(t, now);
        throw ledgerWriteFailed(err);
      });
      // Each waiting request sees the rejection; this handler only keeps one nobody waited for from being reported
      // as unhandled.
      durable.catch(ignoreRejection);
      this.pendingWrite = { written, durable, tickets };
    }
    this.pendingWrite.tickets.push(ticket);
    return this.pendingWrite.durable;
  }

  /** The ledger write failed at once: the reservation is undone and refused. */
  private unreserve(ticket: Ticket, now: number, err: unknown): never {
    this.undoReservation(ticket, now);
    throw ledgerWriteFailed(err);
  }

  /** Not durable means not admitted: undo everything rather than forward an unrecorded reservation. */
  private undoReservation(ticket: Ticket, now: number): void {
    void this.settle(ticket, { costUsd: 0, tokensUsed: 0 }, now, false);
  }

  private ticketFor(request: AcquireRequest, shared: AcquireRequest['projectConcurrency']): Ticket {
    const periods = ticketPeriodsOf(request.budgets);
    // Every ticket has the same shape (absent parts undefined, not left out): one hidden class for all of them.
    return {
      id: nextReservationId(),
      keyId: request.keyId,
      tokens: request.tokens,
      holdsConcurrency: request.concurrency !== null,
      projectConcurrencyId: shared?.projectId,
      budgetPeriodKeys: periods.keyPeriodKeys,
      project: periods.project,
      reservedUsd: request.budgets.length > 0 ? request.reserveUsd : 0,
      settled: false,
      shared: undefined,
    };
  }

  /** Synchronous unless the ticket holds a parent's reservation or the ledger writes asynchronously. */
  settle(ticket: Ticket, settlement: Settlement, now: number, durable = true): void | Promise<void> {
    if (ticket.settled) return;
    ticket.settled = true;
    for (const check of ticket.tokens) {
      const id = counterId(check, ticket.keyId);
      const state = this.buckets.get(id);
      if (state) adjustInPlace(state, now, settlement.tokensUsed - check.amount, check.limit, check.periodMs);
    }
    if (ticket.holdsConcurrency) this.release(ticket.keyId);
    if (ticket.projectConcurrencyId !== undefined) this.release(ticket.projectConcurrencyId);
    if (ticket.shared) {
      const shares = this.settleShared(ticket, ticket.shared, settlement, durable);
      return shares.then(() => this.settleOwn(ticket, settlement, durable));
    }
    return this.settleOwn(ticket, settlement, durable);
  }

  private settleOwn(ticket: Ticket, settlement: Settlement, durable: boolean): void | Promise<void> {
    if (ticket.budgetPeriodKeys.length === 0 && !ticket.project) return;
    const shortcuts = this.shortcuts.get(ticket.keyId);
    // Reserved against the key plan's budgets of this minute: their entries are at hand (see KeyShortcuts).
    if (ticket.budgetPeriodKeys.length > 0 && shortcuts?.periodKeys === ticket.budgetPeriodKeys) {
      for (const entry of shortcuts.budgetEntries) chargeEntry(entry, ticket.reservedUsd, settlement.costUsd);
    } else this.charge(ticket.keyId, ticket.budgetPeriodKeys, ticket.reservedUsd, settlement.costUsd);
    if (ticket.project) this.charge(ticket.project.id, ticket.project.periodKeys, ticket.reservedUsd, settlement.costUsd);
    if (!durable) return;
    return this.ledger.settle({
      reservationId: ticket.id,
      keyId: ticket.keyId,
      periodKeys: ticket.budgetPeriodKeys,
      usd: settlement.costUsd,
      projectId: ticket.project?.id,
      projectPeriodKeys: ticket.project?.periodKeys,
    });
  }

  private release(owner: string): void {
    const inflight = (this.inflightByKey.get(owner) ?? 1) - 1;
    if (inflight <= 0) this.inflightByKey.delete(owner);
    else this.inflightByKey.set(owner, inflight);
  }

  /** Turns an owner's reservation into spend in memory (the ledger is written by the caller). */
  private charge(owner: string, periodKeys: readonly string[], reservedUsd: number, costUsd: number): void {
    const map = this.spend.get(owner);
    if (!map) return;
    for (const periodKey of periodKeys) chargeEntry(this.period(map, periodKey), reservedUsd, costUsd);
  }

  async spent(keyId: string, periodKeys: readonly string[]): Promise<Record<string, number>> {
    const map = await this.loadSpend(keyId);
    return Object.fromEntries(periodKeys.map((key) => [key, map.get(key)?.spent ?? 0]));
  }

  inflight(keyId: string): Promise<number> {
    return Promise.resolve(this.inflightByKey.get(keyId) ?? 0);
  }

  /**
   * acquire() for a request whose budgets count against several keys (a child key and its parent). The budgets
   * are checked, then reserved, against every key with no await in between, so concurrent requests of the parent
   * and its children cannot together pass a budget; each key's reservation is written to the ledger under its own
   * id. Rates, tokens and concurrency go through the ordinary path with the budgets left out.
   */
  private async acquireShared(request: AcquireRequest): Promise<AcquireResult> {
    await this.ensureOwnersLoaded(request.keyId, request.budgets);
    const maps = this.spend;
    // Checked before the ordinary acquire commits anything; nothing awaits between this check and the reservation.
    for (const budget of request.budgets) {
      const entry = maps.get(budgetOwner(budget, request.keyId))?.get(budget.periodKey);
      const used = entry ? entry.spent + entry.reserved : 0;
      if (used + request.reserveUsd > budget.limitUsd + 1e-12) {
        return { ok: false, refusal: { reason: 'budget', retryAfterMs: 0, periodKey: budget.periodKey } };
      }
    }
    const own = request.budgets.filter((b) => (b.subject ?? request.keyId) === request.keyId);
    const others = new Map<string, string[]>();
    for (const budget of request.budgets) {
      const subject = budget.subject ?? request.keyId;
      if (subject !== request.keyId) others.set(subject, [...(others.get(subject) ?? []), budget.periodKey]);
    }
    // Reserve the others synchronously first, so the await inside the ordinary acquire cannot let another request in.
    for (const [subject, periodKeys] of others) {
      const map = maps.get(subject);
      if (map) for (const periodKey of periodKeys) this.period(map, periodKey).reserved += request.reserveUsd;
    }
    const release = (subjects: Iterable<[string, string[]]> = others): void => {
      for (const [subject, periodKeys] of subjects) {
        const map = maps.get(subject);
        if (map) for (const periodKey of periodKeys) this.period(map, periodKey).reserved = Math.max(0, this.period(map, periodKey).reserved - request.reserveUsd);
      }
    };
    let result: AcquireResult;
    try {
      result = await this.acquire({ ...request, budgets: own.length > 0 ? own : [] });
      // The shared parts below are reserved only once this key's own reservation is on disk.
      if (result.ok && result.durable) {
        await result.durable;
        result.durable = undefined;
      }
    } catch (err) {
      release();
      throw err;
    }
    if (!result.ok) {
      release();
      return result;
    }
    const ticket = result.ticket;
    ticket.reservedUsd = request.reserveUsd;
    const parts = [...others].map(([subject, periodKeys]) => ({ subject, periodKeys, reservationId: `${ticket.id}:${subject}` }));
    // Only the parts whose lines are written: settling the ticket settles exactly these on the ledger.
    ticket.shared = [];
    for (const [index, part] of parts.entries()) {
      try {
        await this.ledger.reserve({ id: part.reservationId, keyId: part.subject, usd: request.reserveUsd, periodKeys: part.periodKeys, createdAt: request.now });
      } catch (err) {
        await this.undoShared(ticket, parts.slice(index), release, request.now);
        throw ledgerWriteFailed(err);
      }
      ticket.shared.push(part);
    }
    return result;
  }

  /**
   * A shared part's line could not be written, after the key's own line (and maybe other parts') was: the request is
   * refused. The parts without a line are released in memory only; everything with a line (the key's own, the parts
   * before) is settled at zero through the ledger, so no line stays open for recovery to charge in full after a
   * restart, and a lease the own reservation came from can close. If even that settlement fails, the lines stay
   * open: recovery then overcharges, which is the safe side of a budget.
   */
  private async undoShared(ticket: Ticket, unwritten: ReadonlyArray<{ subject: string; periodKeys: string[] }>, release: (subjects: Iterable<[string, string[]]>) => void, now: number): Promise<void> {
    release(unwritten.map((part): [string, string[]] => [part.subject, part.periodKeys]));
    try {
      await this.settle(ticket, { costUsd: 0, tokensUsed: 0 }, now, true);
    } catch {
      // See above: left open, charged in full by recovery.
    }
  }

  private async settleShared(
    ticket: Ticket,
    shared: NonNullable<Ticket['shared']>,
    settlement: Settlement,
    durable: boolean,
  ): Promise<void> {
    for (const part of shared) {
      this.charge(part.subject, part.periodKeys, ticket.reservedUsd, settlement.costUsd);
      if (durable) await this.ledger.settle({ reservationId: part.reservationId, keyId: part.subject, periodKeys: part.periodKeys, usd: settlement.costUsd });
    }
  }
}

function rateRefusal(rate: AcquireRequest['rates'][number], decision: GcraDecision): AcquireResult {
  return {
    ok: false,
    refusal: { reason: 'rate', retryAfterMs: decision.retryAfterMs, ...(rate.scope === 'project' ? { scope: 'project' as const } : {}), requests: { limit: rate.limit, remaining: 0, resetMs: decision.resetMs } },
  };
}

function tokensRefusal(check: TokenCheck, decision: BucketDecision, requests: LimitSnapshot | undefined): AcquireResult {
  return {
    ok: false,
    refusal: {
      reason: 'tokens',
      retryAfterMs: decision.retryAfterMs,
      ...(check.scope === 'project' ? { scope: 'project' as const } : {}),
      tokens: { limit: check.limit, remaining: decision.remaining, resetMs: decision.resetMs },
      ...(requests ? { requests } : {}),
    },
  };
}

/** A reservation turned into spend: the reserved amount released, the cost added. */
function chargeEntry(entry: PeriodSpend, reservedUsd: number, costUsd: number): void {
  entry.reserved = Math.max(0, entry.reserved - reservedUsd);
  entry.spent += costUsd;
}

function ignoreRejection(): void {
  // see durableWith
}

/**
 * A reservation that could not be written: an unreachable store keeps its own 503 store_unavailable (the client may
 * retry); anything else is an internal fault.
 */
function ledgerWriteFailed(err: unknown): KeywardenError {
  if (err instanceof KeywardenError && err.code === 'KW_STORE_UNAVAILABLE') return err;
  return new KeywardenError('KW_INTERNAL', { message: 'The spend ledger could not be written.', cause: err });
}
