import { compileModelGlobs, type ModelMatcher } from '../policy/index.js';
import { shareChecks, type BudgetCheck, type RateCheck } from './backend.js';
import { periodKey } from './periods.js';
import type { KeyLimits, ModelRule } from './schema.js';

const MINUTE = 60_000;
const DAY = 86_400_000;

/** A tokens-per-minute limit before the request's amount is known. */
export interface TokenLimit {
  id: string;
  limit: number;
  scope?: 'project';
  scopeId?: string;
}

/** The rate and token checks of a request to one model: the key's own, plus those of the rule it matched. */
export interface RulePlan {
  rule: ModelRule | null;
  rates: readonly RateCheck[];
  tpm: readonly TokenLimit[];
}

/**
 * A key's limits compiled once per key version (the limiter caches it by id + updatedAt, so an update through the
 * admin API takes effect on the next request): the model rules' matchers, the rate and token checks of every
 * rule, and the budget checks of the current minute. The arrays it hands out are shared between requests and
 * never mutated: a request that needs more checks (a project's, a parent's) copies them.
 */
export class KeyPlan {
  /** Nothing to count: the gateway skips admission altogether. */
  readonly empty: boolean;
  private readonly rules: ReadonlyArray<{ matcher: ModelMatcher; plan: RulePlan }>;
  private readonly noRule: RulePlan;
  private readonly timeZone: string;
  private budgetMinute = Number.NaN;
  private budgetChecks: readonly BudgetCheck[] = [];

  constructor(readonly limits: KeyLimits) {
    this.empty = Object.keys(limits).length === 0;
    this.timeZone = limits.time_zone ?? 'UTC';
    const rates: RateCheck[] = [];
    // The limit is part of each counter's id (as for a project's shared limits): a changed limit starts a fresh
    // counter on the next request, so a key raised from rpm=1 to rpm=100 is not refused for a minute by the state
    // the old limit left behind.
    if (limits.rpm) rates.push({ id: `rpm@${limits.rpm}`, limit: limits.rpm, periodMs: MINUTE });
    if (limits.rpd) rates.push({ id: `rpd@${limits.rpd}`, limit: limits.rpd, periodMs: DAY });
    const tpm: TokenLimit[] = limits.tpm ? [{ id: `tpm@${limits.tpm}`, limit: limits.tpm }] : [];
    // Shared by every request to the key's models (the backend caches what it resolves for the array).
    this.noRule = { rule: null, rates: shareChecks(rates), tpm };
    this.rules = (limits.model_rules ?? []).map((rule, index) => {
      const ruleRates = [...rates];
      if (rule.rpm) ruleRates.push({ id: `rule${index}:rpm@${rule.rpm}`, limit: rule.rpm, periodMs: MINUTE });
      if (rule.rpd) ruleRates.push({ id: `rule${index}:rpd@${rule.rpd}`, limit: rule.rpd, periodMs: DAY });
      const ruleTpm = rule.tpm ? [...tpm, { id: `rule${index}:tpm@${rule.tpm}`, limit: rule.tpm }] : tpm;
      return { matcher: compileModelGlobs([rule.match]), plan: { rule, rates: shareChecks(ruleRates), tpm: ruleTpm } };
    });
  }

  /** The first rule matching the model decides (as before compilation); no model or no match: the key's own. */
  forModel(model: string | null): RulePlan {
    if (model === null) return this.noRule;
    for (const entry of this.rules) if (entry.matcher.allows(model)) return entry.plan;
    return this.noRule;
  }

  /**
   * The key's budget checks at `now`. Period keys are calendar dates in the key's zone, and a zone's date changes
   * only on a minute mark, so they are computed once per minute (any `now` in another minute, earlier or later,
   * recomputes them) instead of once per request.
   */
  budgets(now: number): readonly BudgetCheck[] {
    const minute = Math.floor(now / MINUTE);
    if (minute !== this.budgetMinute) {
      // Shared by every request of the minute: the backend derives a ticket's periods from it once.
      this.budgetChecks = shareChecks((this.limits.budgets ?? []).map((b) => ({ periodKey: periodKey(b.period, now, this.timeZone), limitUsd: b.usd })));
      this.budgetMinute = minute;
    }
    return this.budgetChecks;
  }
}
