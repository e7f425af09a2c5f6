import type { Limiter } from '../limits/limiter.js';
import { ProjectCompiler } from '../limits/project-limits.js';
import type { ProjectRepository } from '../store/index.js';
import type { BudgetStatus } from './types.js';

const compiler = new ProjectCompiler();

/** Spend against every project budget, as budget statuses for the budget detector (see BudgetStatus.projectId). */
export async function projectBudgetStatuses(projects: ProjectRepository, limiter: Limiter, now: number): Promise<BudgetStatus[]> {
  const statuses: BudgetStatus[] = [];
  for (const project of await projects.list()) {
    const compiled = compiler.compile(project);
    if (!compiled.limits.budgets?.length) continue;
    for (const budget of await limiter.projectBudgetStatus(compiled, now)) {
      statuses.push({ keyId: project.id, keyName: project.name, projectId: project.id, spentUsd: budget.spent_usd, budgetUsd: budget.limit_usd, periodId: budget.period_key });
    }
  }
  return statuses;
}
