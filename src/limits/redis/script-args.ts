import type { AcquireRequest, LimitSnapshot, Refusal, RefusalReason, Settlement, Ticket } from '../backend.js';
import type { ScriptArg } from './redis-script.js';

/** What a script returns: integers as numbers, fractional values as strings (see scripts.ts). */
export type Reply = Array<string | number>;

/** ARGV of ACQUIRE_LUA (its layout is documented there). */
export function acquireArgs(prefix: string, request: AcquireRequest, ticketId: string, leaseMs: number, warmMs: number, spentTtlMs: number): ScriptArg[] {
  const args: ScriptArg[] = [prefix, request.keyId, request.now, ticketId, leaseMs, warmMs, spentTtlMs, request.rates.length];
  for (const r of request.rates) args.push(r.id, r.limit, r.periodMs);
  args.push(request.tokens.length);
  for (const t of request.tokens) args.push(t.id, t.limit, t.periodMs, t.amount);
  args.push(request.concurrency ?? -1, request.budgets.length);
  for (const b of request.budgets) args.push(b.periodKey, b.limitUsd);
  args.push(request.reserveUsd);
  return args;
}

/** ARGV of SETTLE_LUA. */
export function settleArgs(prefix: string, ticket: Ticket, settlement: Settlement, now: number, ledgerCharged: boolean): ScriptArg[] {
  const args: ScriptArg[] = [
    prefix,
    ticket.keyId,
    ticket.id,
    now,
    settlement.costUsd,
    settlement.tokensUsed,
    ledgerCharged ? 1 : 0,
    ticket.budgetPeriodKeys.length,
    ...ticket.budgetPeriodKeys,
    ticket.tokens.length,
  ];
  for (const t of ticket.tokens) args.push(t.id, t.limit, t.periodMs, t.amount);
  return args;
}

export function ticketOf(ticketId: string, request: AcquireRequest): Ticket {
  return {
    id: ticketId,
    keyId: request.keyId,
    tokens: request.tokens,
    holdsConcurrency: request.concurrency !== null,
    budgetPeriodKeys: request.budgets.map((b) => b.periodKey),
    reservedUsd: request.budgets.length > 0 ? request.reserveUsd : 0,
    settled: false,
  };
}

/** A limit snapshot from three reply slots; the script sends -1 as the limit when there is no such limit. */
export function snapshotAt(reply: Reply, at: number): LimitSnapshot | undefined {
  const limit = reply[at];
  if (limit === undefined || Number(limit) < 0) return undefined;
  return { limit: Number(limit), remaining: Number(reply[at + 1]), resetMs: Number(reply[at + 2]) };
}

/** The refusal in an ACQUIRE_LUA reply of status 0. */
export function refusalOf(reply: Reply): Refusal {
  const requests = snapshotAt(reply, 4);
  const tokens = snapshotAt(reply, 7);
  const periodKey = String(reply[3] ?? '');
  return {
    reason: String(reply[1]) as RefusalReason,
    retryAfterMs: Number(reply[2]),
    ...(periodKey ? { periodKey } : {}),
    ...(requests ? { requests } : {}),
    ...(tokens ? { tokens } : {}),
  };
}
