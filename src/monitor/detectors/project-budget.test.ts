import { describe, expect, it } from 'vitest';
import type { BudgetStatus } from '../types.js';
import { budgetFindings } from './budget.js';

const T = [0.5, 0.8, 1];
const project = (spentUsd: number, budgetUsd: number): BudgetStatus => ({
  keyId: 'prj_web',
  keyName: 'web',
  projectId: 'prj_web',
  spentUsd,
  budgetUsd,
  periodId: 'day:2026-11-30',
});

describe('budgetFindings for project budgets', () => {
  it('names the project, attaches to no key (nothing to suspend) and carries the project in its details', () => {
    const [finding, ...rest] = budgetFindings([project(8.5, 10)], T);
    expect(rest).toEqual([]);
    expect(finding).toMatchObject({
      subject: 'prj_web:day:2026-11-30:80',
      keyId: null,
      severity: 'warning',
      title: 'Project web (prj_web) reached 80% of its budget',
      details: { project_id: 'prj_web', project_name: 'web', threshold_pct: 80 },
    });
    expect(finding?.details).not.toHaveProperty('key_name');
  });

  it('reports exhaustion at 100 % as critical, saying its keys are refused', () => {
    const [finding] = budgetFindings([project(10, 10)], T);
    expect(finding?.severity).toBe('critical');
    expect(finding?.title).toBe('Project web (prj_web) exhausted its budget');
    expect(finding?.message).toContain('its keys are refusing requests');
  });

  it('is not marked exhausted by a refusal of some key (refusals name keys, never projects)', () => {
    expect(budgetFindings([project(1, 10)], T, new Set(['prj_web', 'key_a']))).toEqual([]);
  });
});
