import { describe, expect, it } from 'vitest';
import type { BudgetStatus } from '../types.js';
import { budgetFindings } from './budget.js';

const T = [0.5, 0.8, 1];
const status = (keyId: string, spentUsd: number, budgetUsd: number, periodId: string): BudgetStatus => ({ keyId, spentUsd, budgetUsd, periodId });

describe('budgetFindings with refusals', () => {
  it('reports a refused key at 100 % on the budget nearest exhaustion, once', () => {
    const statuses = [status('key_a', 0.5, 10, 'month:2026-11'), status('key_a', 0.0085, 0.01, 'day:2026-11-29')];
    const findings = budgetFindings(statuses, T, new Set(['key_a']));
    expect(findings.map((f) => [f.subject, f.severity])).toEqual([['key_a:day:2026-11-29:100', 'critical']]);
    expect(findings[0]?.message).toContain('$0.0085 of its $0.01 budget');
  });

  it('fires at 100 % even when the configured thresholds stop below it', () => {
    const findings = budgetFindings([status('key_a', 0.0001, 0.01, 'day:x')], [0.5], new Set(['key_a']));
    expect(findings.map((f) => f.subject)).toEqual(['key_a:day:x:100']);
  });

  it('ignores refusals of keys without a budget status and keeps other keys at their own threshold', () => {
    const findings = budgetFindings([status('key_b', 8.5, 10, 'day:x')], T, new Set(['key_unknown']));
    expect(findings.map((f) => [f.subject, f.title])).toEqual([['key_b:day:x:80', 'Key key_b reached 80% of its budget']]);
  });

  it('never prints a small spend as $0.00', () => {
    const findings = budgetFindings([status('key_c', 0.0042, 0.005, 'day:x')], T);
    expect(findings[0]?.message).toBe('Key key_c has spent $0.0042 of its $0.005 budget for day:x.');
  });
});
