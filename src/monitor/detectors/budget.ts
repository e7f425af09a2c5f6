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

/**
 * One finding per key at its highest crossed threshold. The subject carries the period and the threshold, so
 * each threshold alerts once per period, and a jump straight past 50% and 80% reports only the highest.
 */
export function budgetFindings(statuses: readonly BudgetStatus[], thresholds: readonly number[]): Finding[] {
  const findings: Finding[] = [];
  for (const status of statuses) {
    const threshold = budgetThresholdCrossed(status.spentUsd, status.budgetUsd, thresholds);
    if (threshold === null) continue;
    const pct = Math.round(threshold * 100);
    findings.push({
      detector: 'budget_threshold',
      severity: severityOf(threshold),
      subject: `${status.keyId}:${status.periodId}:${pct}`,
      keyId: status.keyId,
      title: `Key ${status.keyId} reached ${pct}% of its budget`,
      message: `Key ${status.keyId} has spent $${status.spentUsd.toFixed(2)} of its $${status.budgetUsd.toFixed(2)} budget for ${status.periodId}.`,
      details: { threshold_pct: pct, spent_usd: status.spentUsd, budget_usd: status.budgetUsd, period: status.periodId },
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
