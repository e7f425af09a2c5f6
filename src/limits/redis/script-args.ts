import type { AcquireRequest, BudgetCheck, CounterScope, LimitSnapshot, Refusal, RefusalReason, Settlement, Ticket } from '../backend.js';
import type { ScriptArg } from './redis-script.js';

/** What a script returns: integers as numbers, fractional values as strings (see scripts.ts). */
export type Reply = Array<string | number>;

/** Whose counter a rate or token check uses: the project's when it is project-scoped, else the key's. */
export function counterOwner(check: CounterScope, keyId: string): string {
  return check.scope === 'project' && check.scopeId !== undefined ? check.scopeId : keyId;
}

/** Whose spend a budget counts: a named subject (a child key's parent), the project, or the requesting key. */
export function budgetOwner(budget: BudgetCheck, keyId: string): string {
  return budget.subject ?? counterOwner(budget, keyId);
}

/** One owner's share of a ticket: its concurrency slot and the budget periods reserved against its spend. */
export interface TicketPart {
  owner: string;
  holdsConcurrency: boolean;
  periodKeys: string[];
}

/** The parts of a ticket, one per owner it holds something with, in a stable order (key, project, others). */
export function partsOf(ticket: Ticket): TicketPart[] {
  const parts: TicketPart[] = [];
  if (ticket.holdsConcurrency || ticket.budgetPeriodKeys.length > 0) {
    parts.push({ owner: ticket.keyId, holdsConcurrency: ticket.holdsConcurrency, periodKeys: ticket.budgetPeriodKeys });
  }
  const projectId = ticket.project?.id ?? ticket.projectConcurrencyId;
  if (projectId !== undefined) {
    parts.push({ owner: projectId, holdsConcurrency: ticket.projectConcurrencyId === projectId, periodKeys: ticket.project?.periodKeys ?? [] });
  }
  for (const shared of ticket.shared ?? []) parts.push({ owner: shared.subject, holdsConcurrency: false, periodKeys: shared.periodKeys });
  return parts;
}

/** ARGV of ACQUIRE_BODY without the prefix (its layout is documented there; the batch script adds the prefix). */
export function acquireArgs(request: AcquireRequest, ticketId: string, leaseMs: number, warmMs: number, spentTtlMs: number): ScriptArg[] {
  const { keyId } = request;
  const args: ScriptArg[] = [keyId, request.now, ticketId, leaseMs, warmMs, spentTtlMs, request.rates.length];
  for (const r of request.rates) args.push(counterOwner(r, keyId), r.id, r.limit, r.periodMs);
  args.push(request.tokens.length);
  for (const t of request.tokens) args.push(counterOwner(t, keyId), t.id, t.limit, t.periodMs, t.amount);
  const project = request.projectConcurrency ?? null;
  args.push((request.concurrency !== null ? 1 : 0) + (project ? 1 : 0));
  if (request.concurrency !== null) args.push(keyId, request.concurrency);
  if (project) args.push(project.projectId, project.limit);
  args.push(request.budgets.length);
  for (const b of request.budgets) args.push(budgetOwner(b, keyId), b.periodKey, b.limitUsd);
  args.push(request.reserveUsd);
  return args;
}

/** ARGV of SETTLE_BODY without the prefix. */
export function settleArgs(ticket: Ticket, parts: readonly TicketPart[], settlement: Settlement, now: number, ledgerCharged: boolean): ScriptArg[] {
  const args: ScriptArg[] = [ticket.id, now, settlement.costUsd, settlement.tokensUsed, ledgerCharged ? 1 : 0, parts.length];
  for (const part of parts) args.push(part.owner, part.periodKeys.length, ...part.periodKeys);
  args.push(ticket.tokens.length);
  for (const t of ticket.tokens) args.push(counterOwner(t, ticket.keyId), t.id, t.limit, t.periodMs, t.amount);
  return args;
}

/**
 * The ticket of an admitted request, with the key's, the project's and other subjects' reservations apart. The
 * optional members are set only when present, so the usual ticket (the key's own budgets) is one object literal.
 */
export function ticketOf(ticketId: string, request: AcquireRequest): Ticket {
  const { keyId } = request;
  const own: string[] = [];
  let project: { id: string; periodKeys: string[] } | undefined;
  let others: Map<string, string[]> | undefined;
  for (const budget of request.budgets) {
    const owner = budgetOwner(budget, keyId);
    if (owner === keyId) own.push(budget.periodKey);
    else if (budget.subject === undefined) (project ??= { id: owner, periodKeys: [] }).periodKeys.push(budget.periodKey);
    else (others ??= new Map()).set(owner, [...(others.get(owner) ?? []), budget.periodKey]);
  }
  const ticket: Ticket = {
    id: ticketId,
    keyId,
    tokens: request.tokens,
    holdsConcurrency: request.concurrency !== null,
    budgetPeriodKeys: own,
    reservedUsd: request.budgets.length > 0 ? request.reserveUsd : 0,
    settled: false,
  };
  const projectConcurrency = request.projectConcurrency ?? null;
  if (projectConcurrency) ticket.projectConcurrencyId = projectConcurrency.projectId;
  if (project) ticket.project = project;
  if (others) ticket.shared = [...others].map(([subject, periodKeys]) => ({ subject, periodKeys, reservationId: `${ticketId}:${subject}` }));
  return ticket;
}

/** A limit snapshot from three reply slots; the script sends -1 as the limit when there is no such limit. */
export function snapshotAt(reply: Reply, at: number): LimitSnapshot | undefined {
  const limit = reply[at];
  if (limit === undefined || Number(limit) < 0) return undefined;
  return { limit: Number(limit), remaining: Number(reply[at + 1]), resetMs: Number(reply[at + 2]) };
}

/** The refusal in an ACQUIRE_BODY reply of status 0; `projectIds` tell a project's refusal from the key's own. */
export function refusalOf(reply: Reply, request: AcquireRequest): Refusal {
  const requests = snapshotAt(reply, 4);
  const tokens = snapshotAt(reply, 7);
  const periodKey = String(reply[3] ?? '');
  const owner = String(reply[10] ?? '');
  return {
    reason: String(reply[1]) as RefusalReason,
    retryAfterMs: Number(reply[2]),
    ...(periodKey ? { periodKey } : {}),
    ...(isProjectOwner(owner, request) ? { scope: 'project' as const } : {}),
    ...(requests ? { requests } : {}),
    ...(tokens ? { tokens } : {}),
  };
}

function isProjectOwner(owner: string, request: AcquireRequest): boolean {
  if (owner === '' || owner === request.keyId) return false;
  if (request.projectConcurrency?.projectId === owner) return true;
  return [...request.rates, ...request.tokens, ...request.budgets].some((check) => check.scope === 'project' && check.scopeId === owner && !('subject' in check && check.subject !== undefined));
}
