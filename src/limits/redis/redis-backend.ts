import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { KeywardenError } from '../../errors/index.js';
import type { SpendRepository } from '../../store/index.js';
import type { AcquireRequest, AcquireResult, BudgetCheck, LimitsBackend, Settlement, Ticket } from '../backend.js';
import { RedisScript, type ScriptArg } from './redis-script.js';
import { acquireArgs, budgetOwner, partsOf, refusalOf, settleArgs, snapshotAt, ticketOf, type Reply, type TicketPart } from './script-args.js';
import { REBUILD_LUA, RENEW_LUA, SWEEP_LUA } from './scripts.js';
import { ScriptBatcher, type BatchOp } from './batch-script.js';
import { SpendHints } from './spend-hints.js';

const renewScript = new RedisScript(RENEW_LUA);
const sweepScript = new RedisScript(SWEEP_LUA);
const rebuildScript = new RedisScript(REBUILD_LUA);

/** A key's spend hash lives this long after its last budgeted admission; expired, it is rebuilt from the ledger. */
const SPENT_TTL_MS = 7 * 86_400_000;
/** How long a swept ticket is remembered, so its late settlement does not charge it a second time. */
const SWEPT_TTL_MS = 86_400_000;
const RENEW_BATCH = 200;
const SWEEP_BATCH = 200;
/** Warm-up waits and rebuilds one admission may go through before it gives up with 503. */
const MAX_ATTEMPTS = 4;
/** Longest single wait for a warm-up, whatever another replica announced. */
const MAX_WARM_WAIT_MS = 2000;

export interface RedisLimitsOptions {
  redis: Redis;
  /** The durable spend ledger: settled spend is written here, and a lost Redis is rebuilt from it. */
  ledger: SpendRepository;
  /** Prefix of every Redis key (default `kw:`), so several deployments can share one Redis. */
  prefix?: string;
  /** A reservation's lease: a replica that stops renewing it for this long is presumed dead (default 30 s). */
  leaseMs?: number;
  /** Renewal and sweep interval (default min(leaseMs / 3, 1 s)). */
  heartbeatMs?: number;
  /** Errors of the background renew/sweep loop (they are retried on the next beat). */
  onError?: (err: unknown, during: string) => void;
}

interface LiveTicket {
  parts: TicketPart[];
  usd: number;
}

interface PendingSettle {
  ticket: Ticket;
  parts: TicketPart[];
  settlement: Settlement;
  now: number;
}

/** A script's reply as a list (a lone integer or string becomes a list of one). */
function asReply(reply: unknown): Reply {
  return Array.isArray(reply) ? (reply as Reply) : [reply as string | number];
}

function unavailable(cause?: unknown): KeywardenError {
  return new KeywardenError('KW_LIMITS_UNAVAILABLE', cause === undefined ? {} : { cause });
}

/**
 * Limits shared by several gateway replicas through one Redis. `acquire` and `settle` are one atomic Lua operation
 * each; the operations of one event-loop turn, every request's, travel together as one script call (batch-script.ts),
 * so under load a request costs a fraction of a command to admit and to settle. Settled
 * spend is durable in the store's spend ledger; Redis holds live counters and leased reservations. A replica renews
 * the leases of its own open tickets; a dead replica's leases expire and the sweeper (on any replica) charges them
 * in full, exactly once. A Redis that lost its state is rebuilt from the ledger before a budgeted request is admitted.
 * Redis unreachable: every call that needs it fails with 503 `limits_unavailable` (fail closed).
 */
export class RedisLimitsBackend implements LimitsBackend {
  private readonly redis: Redis;
  private readonly ledger: SpendRepository;
  private readonly prefix: string;
  readonly leaseMs: number;
  readonly heartbeatMs: number;
  /** How long budgeted admissions wait after Redis lost its state: one beat for every replica to re-register. */
  readonly warmMs: number;
  private readonly onError: (err: unknown, during: string) => void;
  private readonly live = new Map<string, LiveTicket>();
  private pendingSettles: PendingSettle[] = [];
  /** Settlements sent and not yet answered (`flush` waits for none to be left), and who waits for that. */
  private settlesInFlight = 0;
  private whenSettled: Array<() => void> = [];
  private readonly rebuilding = new Map<string, Promise<void>>();
  /** Admissions, settlements and reads of one event-loop turn go to Redis as one script call. */
  private readonly batch: ScriptBatcher;
  /** Spent + reserved per budget as last seen, so sizing a cap needs no read before each admission. */
  private readonly hints = new SpendHints();
  /**
   * Ticket ids: a random prefix of this backend (72 bits, so replicas never share one) and a counter. Unique like
   * a UUID where it matters (Redis members and hash fields shared by every replica), without drawing 16 random
   * bytes and formatting 36 characters per admission.
   */
  private readonly ticketPrefix = randomBytes(9).toString('base64url');
  private ticketCount = 0;
  private timer: NodeJS.Timeout | null = null;
  private beating = false;
  private beatFailing = false;

  constructor(options: RedisLimitsOptions) {
    this.redis = options.redis;
    this.ledger = options.ledger;
    this.prefix = options.prefix ?? 'kw:';
    this.leaseMs = options.leaseMs ?? 30_000;
    this.heartbeatMs = options.heartbeatMs ?? Math.min(Math.floor(this.leaseMs / 3), 1000);
    this.warmMs = this.heartbeatMs + 250;
    this.onError = options.onError ?? (() => undefined);
    this.batch = new ScriptBatcher(this.redis, this.prefix);
  }

  /** Starts renewing leases and sweeping expired ones. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.beat(), this.heartbeatMs);
    this.timer.unref();
    // The first beat now: on a fresh Redis it starts the generation's warm-up at once.
    void this.beat();
  }

  /** Stops the background loop without settling anything (what a crash looks like to the other replicas). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** True while Redis answers; used to fail closed for every key when `limits.failOpen` is false. */
  available(): boolean {
    return this.redis.status === 'ready';
  }

  /** For /readyz. */
  state(): string {
    return this.redis.status === 'ready' ? 'up' : 'down';
  }

  /** Open tickets this replica holds leases for. */
  get openTickets(): number {
    return this.live.size;
  }

  async close(): Promise<void> {
    this.stop();
    await this.flush();
    await this.beat();
  }

  acquire(request: AcquireRequest): Promise<AcquireResult> {
    const ticketId = `${this.ticketPrefix}${(++this.ticketCount).toString(36)}`;
    return this.tryAcquire(request, ticketId, acquireArgs(request, ticketId, this.leaseMs, this.warmMs, SPENT_TTL_MS), 0);
  }

  /**
   * One attempt, as a promise chain rather than an async loop: the usual admission (one batched script call, then
   * its reply) costs one continuation. Warm-up waits and rebuilds try again, MAX_ATTEMPTS in all.
   */
  private tryAcquire(request: AcquireRequest, ticketId: string, args: readonly ScriptArg[], attempt: number): Promise<AcquireResult> {
    const pending = this.batch.run('acquire', args);
    const seq = this.batch.lastSeq;
    return pending.then(
      (raw) => {
        const reply = asReply(raw);
        const status = Number(reply[0]);
        if (status === 1) return this.admitted(request, ticketId, reply, seq);
        if (status === 0) {
          const refusal = refusalOf(reply, request);
          if (refusal.reason === 'budget') for (const b of request.budgets) this.hints.forget(budgetOwner(b, request.keyId), b.periodKey);
          return { ok: false, refusal };
        }
        if (attempt + 1 >= MAX_ATTEMPTS) throw unavailable();
        return this.recover(status, reply).then(() => this.tryAcquire(request, ticketId, args, attempt + 1));
      },
      (err: unknown) => {
        this.release(ticketId, request);
        throw unavailable(err);
      },
    );
  }

  private admitted(request: AcquireRequest, ticketId: string, reply: Reply, seq: number): AcquireResult {
    for (let i = 0; i < request.budgets.length; i++) {
      const budget = request.budgets[i] as BudgetCheck;
      this.hints.record(budgetOwner(budget, request.keyId), budget.periodKey, Number(reply[7 + i]), seq);
    }
    const ticket = ticketOf(ticketId, request);
    const parts = partsOf(ticket);
    if (parts.length > 0) this.live.set(ticketId, { parts, usd: ticket.reservedUsd });
    const result: Extract<AcquireResult, { ok: true }> = { ok: true, ticket };
    const requests = snapshotAt(reply, 1);
    const tokens = snapshotAt(reply, 4);
    if (requests) result.requests = requests;
    if (tokens) result.tokens = tokens;
    return result;
  }

  /**
   * An acquire that timed out may still run in Redis (a stalled server answers late): undo it with a settlement of
   * nothing, queued after it on the same connection and so run after it. Tokens are not refunded (that could
   * over-refund a script that never ran). If this cannot be sent either, a reservation that did run expires and is swept in full.
   */
  private release(ticketId: string, request: AcquireRequest): void {
    const settlement = { costUsd: 0, tokensUsed: request.tokens[0]?.amount ?? 0 };
    const ticket = ticketOf(ticketId, request);
    this.batch.run('settle', settleArgs(ticket, partsOf(ticket), settlement, request.now, false)).catch(() => undefined);
  }

  /**
   * Returns at once: the operation is already queued for this turn's batch, so any admission or read this replica
   * queues afterwards sees its effect, and the request's usage record is not held back by a round trip. Failures are
   * handled inside (ledger first, Redis on a later beat); `flush()` waits for what is in flight.
   */
  settle(ticket: Ticket, settlement: Settlement, now: number): void | Promise<void> {
    if (ticket.settled) return;
    ticket.settled = true;
    const parts = this.live.get(ticket.id)?.parts ?? partsOf(ticket);
    this.live.delete(ticket.id);
    // A ticket with only request rates holds nothing in Redis that settling would change.
    if (parts.length === 0 && ticket.tokens.length === 0) return;
    this.settlesInFlight++;
    this.settleInRedis({ ticket, parts, settlement, now }, false).then(this.settleDone, this.settleFailed);
  }

  /** Waits for every settlement this replica has in flight. */
  async flush(): Promise<void> {
    while (this.settlesInFlight > 0) await new Promise<void>((resolve) => this.whenSettled.push(resolve));
  }

  // Bound once: a settlement's completion is counted without a closure, a .catch and a .finally of its own.
  private readonly settleDone = (): void => {
    if (--this.settlesInFlight > 0) return;
    const waiting = this.whenSettled;
    this.whenSettled = [];
    for (const resolve of waiting) resolve();
  };

  private readonly settleFailed = (err: unknown): void => {
    this.onError(err, 'settle');
    this.settleDone();
  };

  /**
   * Sends one settlement; settles once Redis answered and the ledger has what it must. `charged`: the ledger already
   * has this settlement (an earlier attempt could not reach Redis). A promise chain rather than an async function:
   * the usual settlement (answered, charges queued by the ledger without a promise) costs one continuation.
   */
  private settleInRedis(pending: PendingSettle, charged: boolean): Promise<void> {
    const { ticket, parts, settlement, now } = pending;
    const sent = this.batch.run('settle', settleArgs(ticket, parts, settlement, now, charged));
    if (!charged) this.adjustHints(parts, settlement.costUsd - ticket.reservedUsd, this.batch.lastSeq);
    return sent.then(
      (flags) => (charged || !Array.isArray(flags) ? undefined : this.chargeFlagged(pending, flags, 0)),
      (err: unknown) => this.settleUnsent(pending, charged, err),
    );
  }

  /** Charges the parts Redis flagged (1: charge; 0: the sweeper already charged that owner's reservation in full). */
  private chargeFlagged(pending: PendingSettle, flags: readonly unknown[], from: number): void | Promise<void> {
    const { parts, settlement } = pending;
    for (let i = from; i < parts.length; i++) {
      if (Number(flags[i]) !== 1) continue;
      const part = parts[i] as TicketPart;
      const written = this.charge(part.owner, part.periodKeys, settlement.costUsd);
      // The ledger queues most settlements without a promise; one that gives a promise is waited for, in order.
      if (written) return written.then(() => this.chargeFlagged(pending, flags, i + 1));
    }
  }

  private async settleUnsent(pending: PendingSettle, charged: boolean, err: unknown): Promise<void> {
    const { parts, settlement } = pending;
    for (const part of parts) for (const periodKey of part.periodKeys) this.hints.forget(part.owner, periodKey);
    // The answer was served: its cost goes to the durable ledger now, and Redis is corrected on a later beat.
    // Until then the reservation stays in Redis (or is swept in full): spend can be overstated, never understated.
    if (!charged) for (const part of parts) await this.charge(part.owner, part.periodKeys, settlement.costUsd);
    this.pendingSettles.push(pending);
    if (!charged) this.onError(err, 'settle');
  }

  /** A settlement queued as operation `seq` moves each reserved budget's spent + reserved by `delta`. */
  private adjustHints(parts: readonly TicketPart[], delta: number, seq: number): void {
    if (delta === 0) return;
    for (const part of parts) for (const periodKey of part.periodKeys) this.hints.adjust(part.owner, periodKey, delta, seq);
  }

  /**
   * Writes settled spend to the durable ledger of its owner (a key, a project or a child key's parent). A promise
   * only when the ledger gives one.
   */
  private charge(owner: string, periodKeys: string[], usd: number): void | Promise<void> {
    if (periodKeys.length === 0 || usd <= 0) return;
    return this.ledger.settle({ reservationId: null, keyId: owner, periodKeys, usd });
  }

  /**
   * From this replica's fresh hints when it has them for every budget (synchronously, no round trip: the common
   * case for a busy key), otherwise read from Redis. Only sizes a cap; the admission re-checks every budget
   * atomically.
   */
  budgetRemaining(keyId: string, budgets: readonly BudgetCheck[]): number | Promise<number> {
    let remaining = Infinity;
    for (const b of budgets) {
      const used = this.hints.used(budgetOwner(b, keyId), b.periodKey);
      if (used === undefined) return this.readRemaining(keyId, budgets);
      remaining = Math.min(remaining, b.limitUsd - used);
    }
    return remaining;
  }

  private async readRemaining(keyId: string, budgets: readonly BudgetCheck[]): Promise<number> {
    const owners = budgets.map((b) => budgetOwner(b, keyId));
    const { spent, reserved, seq } = await this.readSpend(budgets.map((b, i) => [owners[i] as string, b.periodKey]));
    let remaining = Infinity;
    budgets.forEach((b, i) => {
      const used = (spent[i] ?? 0) + (reserved[i] ?? 0);
      this.hints.record(owners[i] as string, b.periodKey, used, seq);
      remaining = Math.min(remaining, b.limitUsd - used);
    });
    return remaining;
  }

  async spent(keyId: string, periodKeys: readonly string[]): Promise<Record<string, number>> {
    const { spent } = await this.readSpend(periodKeys.map((periodKey) => [keyId, periodKey]));
    return Object.fromEntries(periodKeys.map((key, i) => [key, spent[i] ?? 0]));
  }

  async inflight(keyId: string): Promise<number> {
    return Number((await this.call('inflight', [keyId]))[0]);
  }

  /** Spent and reserved USD of each (owner, period key) pair, in order. */
  private async readSpend(pairs: ReadonlyArray<readonly [string, string]>): Promise<{ spent: number[]; reserved: number[]; seq: number }> {
    const args: ScriptArg[] = [this.warmMs];
    for (const [owner, periodKey] of pairs) args.push(owner, periodKey);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const pending = this.call('readSpend', args);
      const seq = this.batch.lastSeq;
      const reply = await pending;
      const status = Number(reply[0]);
      if (status === 1) {
        const values = reply.slice(1).map(Number);
        return { spent: values.slice(0, pairs.length), reserved: values.slice(pairs.length), seq };
      }
      await this.recover(status, reply);
    }
    throw unavailable();
  }

  /** Status 2: Redis lost its state and live replicas are re-registering; wait. Status 3: load that owner's spend. */
  private async recover(status: number, reply: Reply): Promise<void> {
    // Redis lost its state (or this owner's part of it): nothing seen before is a good hint any more.
    this.hints.clear();
    // The warm-up was set by whichever replica noticed the loss (at most one beat, ≤ 1 s, plus a margin).
    if (status === 2) await sleep(Math.min(Math.max(1, Number(reply[1])), MAX_WARM_WAIT_MS));
    else if (status === 3 && reply[1] !== undefined) await this.rebuild(String(reply[1]));
    else throw unavailable();
  }

  private rebuild(keyId: string): Promise<void> {
    let pending = this.rebuilding.get(keyId);
    if (!pending) {
      pending = (async () => {
        const rows = await this.ledger.spentFor(keyId);
        const args: ScriptArg[] = [this.prefix, keyId, SPENT_TTL_MS];
        for (const [periodKey, usd] of Object.entries(rows)) args.push(periodKey, usd);
        await rebuildScript.run(this.redis, args).catch((err: unknown) => {
          throw unavailable(err);
        });
      })().finally(() => this.rebuilding.delete(keyId));
      this.rebuilding.set(keyId, pending);
    }
    return pending;
  }

  private async call(op: BatchOp, args: readonly ScriptArg[]): Promise<Reply> {
    try {
      return asReply(await this.batch.run(op, args));
    } catch (err) {
      throw unavailable(err);
    }
  }

  /** One beat: retry failed settlements, renew this replica's leases, charge expired leases (anyone's). */
  async beat(): Promise<void> {
    if (this.beating) return;
    this.beating = true;
    try {
      const retries = this.pendingSettles;
      this.pendingSettles = [];
      for (const pending of retries) await this.settleInRedis(pending, true);
      await this.sweep(await this.renew());
      this.beatFailing = false;
    } catch (err) {
      // Reported once per outage, not once per beat.
      if (!this.beatFailing) this.onError(err, 'heartbeat');
      this.beatFailing = true;
    } finally {
      this.beating = false;
    }
  }

  /**
   * Extends the leases of this replica's open tickets. Resolves with Redis's time when the first of them was
   * renewed, for the sweep that follows (see SWEEP_LUA).
   */
  async renew(): Promise<number> {
    let renewedAt = Number.NaN;
    const tickets = [...this.live.entries()];
    for (let from = 0; from < tickets.length || from === 0; from += RENEW_BATCH) {
      const batch = tickets.slice(from, from + RENEW_BATCH);
      const args: ScriptArg[] = [this.prefix, this.leaseMs, this.warmMs, batch.length];
      let entries = 0;
      for (const [id, t] of batch) {
        for (const part of t.parts) {
          args.push(part.owner, id, part.holdsConcurrency ? 1 : 0, t.usd, part.periodKeys.length, ...part.periodKeys);
          entries++;
        }
      }
      args[3] = entries;
      const at = Number(await renewScript.run(this.redis, args));
      if (Number.isNaN(renewedAt)) renewedAt = at;
      if (tickets.length === 0) break;
    }
    return renewedAt;
  }

  /**
   * Charges expired leases (anyone's) in full. `renewedAt` is what `renew` just returned: the sweep charges nothing
   * if Redis went silent for longer than a lease can last unrenewed since then.
   */
  async sweep(renewedAt: number): Promise<void> {
    const maxGapMs = Math.max(this.heartbeatMs, this.leaseMs - this.heartbeatMs);
    for (let round = 0; round < 10; round++) {
      const reply = (await sweepScript.run(this.redis, [this.prefix, SWEEP_BATCH, SWEPT_TTL_MS, renewedAt, maxGapMs])) as Reply;
      let i = 0;
      let charged = 0;
      while (i < reply.length) {
        const keyId = String(reply[i]);
        const usd = Number(reply[i + 1]);
        const n = Number(reply[i + 2]);
        const periodKeys = reply.slice(i + 3, i + 3 + n).map(String);
        i += 3 + n;
        charged++;
        await this.charge(keyId, periodKeys, usd);
      }
      if (charged < SWEEP_BATCH) return;
    }
  }
}
