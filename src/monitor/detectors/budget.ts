import { formatUsd } from '../../util/money.js';
import type { BudgetStatus, Finding, SecurityEvent, Severity } from '../types.js';

/** The highest threshold (fraction of the budget, e.g. 0.8) that `spentUsd` has reached, or null. */
export function budgetThresholdCrossed(spentUsd: number, budgetUsd: number, thresholds: readonly number[]): number | null {
  if (!(budgetUsd > 0) || !Number.isFinite(spentUsd)) return null;
  const ratio = spentUsd / budgetUsd;
  let crossed: number | null = null;
  for (const threshold of thresholds) if (ratio >= threshold && (crossed === null || threshold > crossed)) crossed = threshold;
  return crossed;
}

const severityOf = (threshold: number): Severity => (threshold >= 1 ? 'critical' : threshold >= 0.8 ? 'warning' : 'info');

const keyLabel = (status: BudgetStatus): string => (status.keyName ? `${status.keyName} (${status.keyId})` : status.keyId);
/** "Key web-1 (key_…)" or "Project web (prj_…)". */
const ownerLabel = (status: BudgetStatus): string => `${status.projectId === undefined ? 'Key' : 'Project'} ${keyLabel(status)}`;

/**
 * The budget of each refused key that is nearest to exhaustion: the one that refused. A key is refused for its
 * budget when the next request's reservation (its worst-case cost) does not fit, usually well before settled
 * spend reaches 100 %, so the refusals themselves are what says "exhausted".
 */
function exhaustedStatuses(statuses: readonly BudgetStatus[], refusedKeys: ReadonlySet<string>): Map<string, BudgetStatus> {
  const nearest = new Map<string, BudgetStatus>();
  if (refusedKeys.size === 0) return nearest;
  for (const status of statuses) {
    // Refusals name keys; a project's budget is judged by its settled spend only.
    if (status.projectId !== undefined || !refusedKeys.has(status.keyId) || !(status.budgetUsd > 0)) continue;
    const current = nearest.get(status.keyId);
    if (!current || status.spentUsd / status.budgetUsd > current.spentUsd / current.budgetUsd) nearest.set(status.keyId, status);
  }
  return nearest;
}

/**
 * One finding per key at its highest crossed threshold; a key whose requests were refused for its budget
 * (`refusedKeys`) is reported at 100 % ("exhausted") even if settled spend is still below it. The subject carries
 * the period and the threshold, so each threshold alerts once per period, a jump straight past 50 % and 80 %
 * reports only the highest, and "exhausted" shares its subject with a settled 100 %.
 */
export function budgetFindings(
  statuses: readonly BudgetStatus[],
  thresholds: readonly number[],
  refusedKeys: ReadonlySet<string> = new Set(),
): Finding[] {
  const findings: Finding[] = [];
  const exhausted = exhaustedStatuses(statuses, refusedKeys);
  for (const status of statuses) {
    const refused = exhausted.get(status.keyId) === status;
    const crossed = budgetThresholdCrossed(status.spentUsd, status.budgetUsd, thresholds);
    const threshold = refused ? Math.max(1, crossed ?? 1) : crossed;
    if (threshold === null) continue;
    const pct = Math.round(threshold * 100);
    const spent = formatUsd(status.spentUsd);
    const budget = formatUsd(status.budgetUsd);
    const label = ownerLabel(status);
    const exhaustedNow = refused || threshold >= 1;
    const project = status.projectId !== undefined;
    findings.push({
      detector: 'budget_threshold',
      severity: severityOf(threshold),
      subject: `${status.keyId}:${status.periodId}:${pct}`,
      // A project's alert belongs to no single key: nothing is suspended for it.
      keyId: project ? null : status.keyId,
      title: exhaustedNow ? `${label} exhausted its budget` : `${label} reached ${pct}% of its budget`,
      message: exhaustedNow
        ? `${label} has spent ${spent} of its ${budget} budget for ${status.periodId} and ${project ? 'its keys are' : 'is'} refusing requests (429 budget_exceeded) until the period resets.`
        : `${label} has spent ${spent} of its ${budget} budget for ${status.periodId}.`,
      details: {
        threshold_pct: pct,
        spent_usd: status.spentUsd,
        budget_usd: status.budgetUsd,
        period: status.periodId,
        refusing: exhaustedNow,
        ...(project ? { project_id: status.keyId, ...(status.keyName ? { project_name: status.keyName } : {}) } : status.keyName ? { key_name: status.keyName } : {}),
      },
    });
  }
  return findings;
}

/**
 * A request billed above what the gateway reserved for it: the bound that budgets rely on was wrong for this
 * request shape. Always critical, under the budget detector's policy; one alert per key and day.
 */
export function costBoundFinding(event: Extract<SecurityEvent, { type: 'cost_bound_exceeded' }>): Finding {
  const day = new Date(event.ts).toISOString().slice(0, 10);
  // The model name is whatever the client sent: clipped before it reaches an alert.
  const model = event.model === null ? 'unknown' : event.model.slice(0, 100);
  return {
    detector: 'budget_threshold',
    severity: 'critical',
    subject: `${event.keyId}:cost_bound:${day}`,
    keyId: event.keyId,
    title: `Key ${event.keyId} was billed above its reservation`,
    message:
      `A request of key ${event.keyId} (model ${model}) cost $${event.chargedUsd.toFixed(6)} while ` +
      `$${event.reservedUsd.toFixed(6)} was reserved. The cost was charged in full; the bound needs fixing.`,
    details: { reserved_usd: event.reservedUsd, charged_usd: event.chargedUsd, model },
  };
}
