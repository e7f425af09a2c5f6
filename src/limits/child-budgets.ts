import type { VirtualKeyRecord } from '../store/index.js';
import type { BudgetCheck } from './backend.js';
import { periodKey } from './periods.js';
import type { KeyLimits } from './schema.js';

/**
 * The parent's budgets as checks on its own spend (`subject` = the parent's id): a child key's request reserves
 * against them as well as its own, in one acquire, so the parent and all its children together never exceed the
 * parent's budget. Null when the parent has no budget (the child then costs nothing extra to admit).
 */
export function parentBudgetChecks(parent: VirtualKeyRecord, now: number): BudgetCheck[] | null {
  const limits = parent.limits as KeyLimits;
  const budgets = limits.budgets ?? [];
  if (budgets.length === 0) return null;
  const timeZone = limits.time_zone ?? 'UTC';
  return budgets.map((b) => ({ periodKey: periodKey(b.period, now, timeZone), limitUsd: b.usd, subject: parent.id }));
}
