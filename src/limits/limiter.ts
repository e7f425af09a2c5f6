import { KeywardenError } from '../errors/index.js';
import type { MeteredTokens } from '../gateway/usage-parse.js';
import { compileModelGlobs, type ModelMatcher } from '../policy/index.js';
import type { ModelPrice, PriceTable } from '../pricing/index.js';
import { KeyVersionCache } from '../util/key-version-cache.js';
import type { VirtualKeyRecord } from '../store/index.js';
import type { AcquireRequest, BudgetCheck, LimitsBackend, Refusal, Settlement, Ticket } from './backend.js';
import { countInputTokens, countOutputTokens, shapeRequest, type CapField, type RequestShape } from './estimate.js';
import { periodKey } from './periods.js';
import { secondsUntilPeriodReset } from './period-reset.js';
import { formatUsd } from '../util/money.js';
import { parentBudgetChecks } from './child-budgets.js';
import { rateLimitHeaders } from './rate-headers.js';
import type { Budget, KeyLimits, ModelRule } from './schema.js';
import type { CompiledProject } from './project-limits.js';

const MINUTE = 60_000;
const DAY = 86_400_000;
/** Output cap injected for budgeted keys when the request has none and the key sets no max_output_tokens. */
export const DEFAULT_INJECTED_CAP = 4096;

interface CompiledLimits {
  limits: KeyLimits;
  rules: Array<{ rule: ModelRule; matcher: ModelMatcher }>;
  empty: boolean;
}

export interface AdmitInput {
  key: VirtualKeyRecord;
  path: string;
  model: string | null;
  json: Record<string, unknown> | null;
  bodyBytes: number;
  now: number;
  /**
   * The provider bills nothing for this request (reading, listing or deleting: GET, HEAD, DELETE), so a budgeted
   * key may make it without a priced model; it reserves $0 and still counts against rates and concurrency.
   */
  costFree?: boolean;
  /** The key's project, compiled (see ProjectCompiler): its shared limits apply on top of the key's. */
  project?: CompiledProject | null;
  /** An ephemeral child key's parent: its budgets bind the child's requests too (see child-budgets.ts). */
  parent?: VirtualKeyRecord | null;
}

export interface Admission {
  readonly ticket: Ticket;
  /** An output cap to write into the request body before forwarding. */
  readonly inject: { field: CapField; value: number } | null;
  /** True when settlement may need the streamed text (budgets and token limits). */
  readonly trackStreamText: boolean;
  /** Tokenizer count of the request input; computed at most once. */
  inputTokens(): Promise<number>;
  /** The input tokens the reservation was sized with (the byte bound, or the tokenizer count near a limit). */
  readonly reservedInputTokens: number;
  /** The output tokens the reservation was sized with (the cap times the choices; 0 for input-only endpoints). */
  readonly reservedOutputTokens: number;
  readonly model: string | null;
}

export interface SettleOutcome {
  status: number;
  tokens: MeteredTokens | null;
  streamedText: string;
  incomplete: boolean;
  /**
   * The client left after the request went upstream, before any answer reached it. The provider may still have
   * generated (and billed) the whole answer, so the reservation is charged in full: a budget must not be
   * exceeded because a client hung up.
   */
  abandoned?: boolean;
}

export interface SettledUsage {
  tokens: MeteredTokens | null;
  costUsd: number | null;
  /** True when tokens were counted by the tokenizer, or taken from the reservation, because the upstream reported none. */
  estimated: boolean;
  /** Reported usage cost this much more than the reservation: the bound was wrong (an alert, not a refund). */
  overrunUsd?: number;
}

function unseenInputError(field: string): KeywardenError {
  return new KeywardenError('KW_PRICE_UNKNOWN', {
    message:
      `This key has a budget, and "${field}" makes the provider bill for input the gateway cannot see. ` +
      'Send the content in the request itself, or give the key an unbounded_allowance_usd to reserve for it.',
    param: field.split(' ')[0] ?? field,
  });
}

function budgetChecks(budgets: readonly Budget[], now: number, timeZone: string): BudgetCheck[] {
  return budgets.map((b) => ({ periodKey: periodKey(b.period, now, timeZone), limitUsd: b.usd }));
}

function projectBudgetChecks(project: CompiledProject, now: number): BudgetCheck[] {
  const timeZone = project.limits.time_zone ?? 'UTC';
  return (project.limits.budgets ?? []).map((b) => ({ periodKey: periodKey(b.period, now, timeZone), limitUsd: b.usd, scope: 'project' as const, scopeId: project.id }));
}

function costOf(price: ModelPrice, inputTokens: number, outputTokens: number): number {
  return (inputTokens * price.input + outputTokens * price.output) / 1_000_000;
}

/**
 * Per-key limits on the request path: model rules, request rates (GCRA), tokens per minute (token bucket),
 * concurrency, a per-request output cap, and USD budgets through reserve → settle.
 */
export class Limiter {
  private readonly compiled = new KeyVersionCache((key: VirtualKeyRecord): CompiledLimits => {
    const limits = key.limits as KeyLimits;
    return {
      limits,
      rules: (limits.model_rules ?? []).map((rule) => ({ rule, matcher: compileModelGlobs([rule.match]) })),
      empty: Object.keys(limits).length === 0,
    };
  });

  /** Fail closed for every key, limited or not, while the backend is unreachable (`limits.failOpen: false`). */
  private readonly failClosedForAll: boolean;

  constructor(
    readonly backend: LimitsBackend,
    private readonly prices: PriceTable,
    options: { failOpen?: boolean } = {},
  ) {
    this.failClosedForAll = options.failOpen !== true && backend.available !== undefined;
  }

  /**
   * False when admit() would admit with nothing to count (no limits on the key, its project or its parent), so
   * the gateway skips the call and its promise: the common case costs one map lookup, synchronously. Throws
   * exactly as admit() would for such a key while the backend is down and limits fail closed.
   */
  needsAdmission(input: AdmitInput): boolean {
    if (!this.compiled.get(input.key).empty || (input.project && !input.project.empty) || input.parent) return true;
    if (this.failClosedForAll && this.backend.available?.() === false) throw new KeywardenError('KW_LIMITS_UNAVAILABLE');
    return false;
  }

  /** Null when the key has no limits: the common case costs one map lookup. */
  async admit(input: AdmitInput): Promise<Admission | null> {
    const compiled = this.compiled.get(input.key);
    const project = input.project && !input.project.empty ? input.project : null;
    const parentBudgets = input.parent ? parentBudgetChecks(input.parent, input.now) : null;
    if (compiled.empty && project === null && parentBudgets === null) {
      if (this.failClosedForAll && this.backend.available?.() === false) throw new KeywardenError('KW_LIMITS_UNAVAILABLE');
      return null;
    }
    const { limits } = compiled;
    const { key, model, now } = input;

    const ruleIndex = model === null ? -1 : compiled.rules.findIndex((r) => r.matcher.allows(model));
    const rule = ruleIndex === -1 ? null : (compiled.rules[ruleIndex]?.rule ?? null);
    if (rule?.deny) {
      throw new KeywardenError('KW_MODEL_NOT_ALLOWED', { message: `This key may not use the model "${model}" (denied by a model rule).`, param: 'model' });
    }

    const rates: AcquireRequest['rates'] = [];
    if (limits.rpm) rates.push({ id: 'rpm', limit: limits.rpm, periodMs: MINUTE });
    if (limits.rpd) rates.push({ id: 'rpd', limit: limits.rpd, periodMs: DAY });
    if (rule?.rpm) rates.push({ id: `rule${ruleIndex}:rpm`, limit: rule.rpm, periodMs: MINUTE });
    if (rule?.rpd) rates.push({ id: `rule${ruleIndex}:rpd`, limit: rule.rpd, periodMs: DAY });
    const tpmLimits: Array<{ id: string; limit: number; scope?: 'project'; scopeId?: string }> = [];
    if (limits.tpm) tpmLimits.push({ id: 'tpm', limit: limits.tpm });
    if (rule?.tpm) tpmLimits.push({ id: `rule${ruleIndex}:tpm`, limit: rule.tpm });
    const budgets = budgetChecks(limits.budgets ?? [], now, limits.time_zone ?? 'UTC');
    if (project) {
      // Shared by every key of the project: counted under the project's id, in the same atomic acquire.
      // The limit is part of the counter id, so an updated limit starts a fresh counter on the next request
      // (an old counter sized for rpm=2 would otherwise keep refusing after a raise to rpm=100).
      const shared = { scope: 'project' as const, scopeId: project.id };
      const { rpm, rpd, tpm } = project.limits;
      if (rpm) rates.push({ id: `rpm@${rpm}`, limit: rpm, periodMs: MINUTE, ...shared });
      if (rpd) rates.push({ id: `rpd@${rpd}`, limit: rpd, periodMs: DAY, ...shared });
      if (tpm) tpmLimits.push({ id: `tpm@${tpm}`, limit: tpm, ...shared });
      budgets.push(...projectBudgetChecks(project, now));
    }
    if (parentBudgets) budgets.push(...parentBudgets);
    const budgeted = budgets.length > 0;
    const sizing = tpmLimits.length > 0 || budgeted || limits.max_output_tokens !== undefined;
    const shape: RequestShape | null = sizing && input.costFree !== true ? shapeRequest(input.path, input.json, input.bodyBytes, model) : null;

    let exact: number | null = null;
    // The tokenizer bound, never above the byte bound: both are upper bounds, the smaller one is kept.
    const inputTokens = async (): Promise<number> => {
      if (exact === null) {
        const bound = shape?.inputBoundTokens ?? input.bodyBytes;
        const counted = await countInputTokens(input.json, model, shape?.imageTokens ?? 0);
        exact = counted === null ? bound : Math.min(counted, bound);
      }
      return exact;
    };

    let cap = shape?.outputCap ?? null;
    /** Output billed beyond the cap (rejected predicted-output tokens). */
    const extraOutput = shape?.extraOutputTokens ?? 0;
    if (shape && limits.max_output_tokens !== undefined && cap !== null && cap / shape.choices > limits.max_output_tokens) {
      throw new KeywardenError('KW_OUTPUT_CAP_EXCEEDED', {
        message: `The requested output cap exceeds this key's maximum of ${limits.max_output_tokens} tokens per request.`,
        param: shape.capField,
      });
    }

    let price: ModelPrice | null = null;
    /** Reserved on top of the visible bound for inputs the provider expands server-side (opt-in). */
    let allowanceUsd = 0;
    if (budgeted && input.costFree !== true) {
      price = model === null ? null : this.prices.priceOf(model);
      if (!price || !shape || (!shape.capField && !shape.inputOnly)) {
        throw new KeywardenError('KW_PRICE_UNKNOWN', {
          message: `This key has a budget, and the cost of this request cannot be bounded: ${price ? 'its output is not priced per token' : `no price is known for the model "${model ?? '(none)'}"`}.`,
          param: 'model',
        });
      }
      if (shape.unseen !== null) {
        if (limits.unbounded_allowance_usd === undefined) throw unseenInputError(shape.unseen);
        allowanceUsd = limits.unbounded_allowance_usd;
      }
    }

    let inject: Admission['inject'] = null;
    let inputEstimate = shape?.inputBoundTokens ?? 0;
    if (shape && cap === null && shape.capField && !shape.inputOnly) {
      if (budgeted && (limits.output_cap ?? 'inject') === 'reject') throw new KeywardenError('KW_OUTPUT_CAP_REQUIRED', { param: shape.capField });
      if (budgeted && price) {
        const remaining = (await this.backend.budgetRemaining(key.id, budgets)) - allowanceUsd;
        if (costOf(price, inputEstimate, 0) >= remaining) inputEstimate = await inputTokens();
        const perChoice = Math.floor((remaining - costOf(price, inputEstimate, extraOutput)) / (price.output / 1_000_000) / shape.choices);
        const value = Math.min(limits.max_output_tokens ?? DEFAULT_INJECTED_CAP, perChoice);
        if (value < 1) {
          const first = budgets[0];
          throw this.refusalError({ reason: 'budget', retryAfterMs: 0, periodKey: first?.periodKey ?? '', ...(first?.scope === 'project' ? { scope: 'project' as const } : {}) }, limits, now, project);
        }
        inject = { field: shape.capField, value };
        cap = value * shape.choices;
      } else if (limits.max_output_tokens !== undefined) {
        inject = { field: shape.capField, value: limits.max_output_tokens };
        cap = limits.max_output_tokens * shape.choices;
      }
    }

    const request = (inTokens: number): AcquireRequest => ({
      keyId: key.id,
      now,
      rates,
      tokens: tpmLimits.map((t) => ({ ...t, periodMs: MINUTE, amount: inTokens + (cap ?? 0) + extraOutput })),
      concurrency: limits.concurrency ?? null,
      projectConcurrency: project?.limits.concurrency ? { projectId: project.id, limit: project.limits.concurrency } : null,
      budgets,
      reserveUsd: price ? costOf(price, inTokens, (cap ?? 0) + extraOutput) + allowanceUsd : 0,
    });
    let result = await this.backend.acquire(request(inputEstimate));
    if (!result.ok && (result.refusal.reason === 'budget' || result.refusal.reason === 'tokens') && exact === null && shape) {
      // The byte bound was too coarse near the limit: size the input with the tokenizer and try once more.
      const tokens = await inputTokens();
      if (tokens < inputEstimate) {
        inputEstimate = tokens;
        result = await this.backend.acquire(request(tokens));
      }
    }
    if (!result.ok) throw this.refusalError(result.refusal, limits, now, project);
    return {
      ticket: result.ticket,
      inject,
      trackStreamText: budgets.length > 0 || tpmLimits.length > 0,
      inputTokens,
      reservedInputTokens: inputEstimate,
      reservedOutputTokens: (cap ?? 0) + extraOutput,
      model,
    };
  }

  private refusalError(refusal: Refusal, keyLimits: KeyLimits, now: number, project: CompiledProject | null = null): KeywardenError {
    const retryAfter = String(Math.max(1, Math.ceil(refusal.retryAfterMs / 1000)));
    // A shared limit of the project refused: say so, and quote the project's numbers, not the key's.
    const byProject = refusal.scope === 'project' && project !== null;
    const limits: KeyLimits = byProject ? project.limits : keyLimits;
    const owner = byProject ? `this key's project "${project.name}"` : 'this key';
    switch (refusal.reason) {
      case 'rate':
      case 'tokens':
        return new KeywardenError('KW_RATE_LIMITED', {
          message: refusal.reason === 'rate' ? `Rate limit reached for requests on ${owner}.` : `Rate limit reached for tokens per minute on ${owner}.`,
          headers: { 'retry-after': retryAfter, ...rateLimitHeaders(refusal.requests, refusal.tokens) },
        });
      case 'concurrency':
        return new KeywardenError('KW_CONCURRENCY_LIMITED', {
          message: `Too many concurrent requests for ${owner} (limit ${limits.concurrency ?? 0}).`,
          headers: { 'retry-after': retryAfter },
        });
      case 'budget': {
        const budget = (limits.budgets ?? []).find((b) => refusal.periodKey?.startsWith(b.period)) ?? limits.budgets?.[0];
        const when = budget?.period === 'lifetime' ? 'It does not reset.' : `It resets at the start of the next ${budget?.period ?? 'period'}.`;
        // Seconds to the period's reset in the owner's time zone; a lifetime budget never resets, so no Retry-After.
        const resetIn = budget ? secondsUntilPeriodReset(budget.period, now, limits.time_zone ?? 'UTC') : null;
        const whose = byProject ? `This key's project "${project.name}" has a budget` : "This key's budget";
        return new KeywardenError('KW_BUDGET_EXCEEDED', {
          message: `${whose} of ${formatUsd(budget?.usd ?? 0)} per ${budget?.period ?? 'period'} ${byProject ? 'that ' : ''}does not cover this request. ${when} Retrying will not help before then.`,
          // The official SDKs honour x-should-retry and do not retry a spent budget.
          headers: { 'x-should-retry': 'false', ...(resetIn === null ? {} : { 'retry-after': String(resetIn) }) },
        });
      }
    }
  }

  /**
   * Settles an admission exactly once, and always: whatever fails while measuring (a tokenizer, a price lookup),
   * the ticket is still settled — slot released, reservation turned into spend — at the full reservation.
   *
   * Reported usage is charged as is, even above the reservation (the truth; `overrunUsd` then says by how much the
   * bound was wrong). A budgeted answer without usage — a non-streamed 2xx without `usage`, a queued background
   * job, a stream cut off or missing its usage chunk, a client that hung up — is charged the full reservation:
   * what the provider billed is unknown, and the reservation is the proven bound. An upstream error that produced
   * nothing releases the reservation.
   */
  async settle(admission: Admission, outcome: SettleOutcome, now: number): Promise<SettledUsage> {
    const reservedUsd = admission.ticket.reservedUsd;
    let settlement: Settlement = { costUsd: reservedUsd, tokensUsed: admission.reservedInputTokens + admission.reservedOutputTokens };
    try {
      // Reported usage (the common case) is measured synchronously; only tokenizer counts need a promise.
      const pending = outcome.tokens ? this.measureReported(admission, outcome.tokens) : this.measure(admission, outcome);
      const measured = pending instanceof Promise ? await pending : pending;
      settlement = { costUsd: measured.costUsd ?? 0, tokensUsed: measured.tokens ? measured.tokens.promptTokens + measured.tokens.completionTokens : 0 };
      return measured;
    } finally {
      await this.backend.settle(admission.ticket, settlement, now);
    }
  }

  /** Usage the upstream reported is charged as is (see settle). */
  private measureReported(admission: Admission, tokens: MeteredTokens): SettledUsage {
    const reservedUsd = admission.ticket.reservedUsd;
    const costUsd = this.prices.costOf(admission.model, tokens);
    const overrunUsd = reservedUsd > 0 && costUsd !== null && costUsd > reservedUsd * (1 + 1e-9) + 1e-12 ? costUsd - reservedUsd : 0;
    return { tokens, costUsd, estimated: false, ...(overrunUsd > 0 ? { overrunUsd } : {}) };
  }

  private async measure(admission: Admission, outcome: SettleOutcome): Promise<SettledUsage> {
    const reservedUsd = admission.ticket.reservedUsd;
    const atReservation = (): SettledUsage => ({
      tokens: { promptTokens: admission.reservedInputTokens, cachedTokens: 0, completionTokens: admission.reservedOutputTokens, reasoningTokens: 0 },
      costUsd: reservedUsd,
      estimated: true,
    });
    if (outcome.tokens) return this.measureReported(admission, outcome.tokens);
    if (outcome.abandoned && reservedUsd > 0) return atReservation();
    const producedSomething = outcome.status < 400 || outcome.streamedText.length > 0;
    if (!producedSomething) return { tokens: null, costUsd: 0, estimated: false };
    if (reservedUsd > 0) return atReservation();
    // No budget (token limits only): count what was streamed, for the token bucket and the usage record.
    if (outcome.streamedText.length === 0 && !outcome.incomplete) return { tokens: null, costUsd: 0, estimated: false };
    const tokens = {
      promptTokens: await admission.inputTokens(),
      cachedTokens: 0,
      completionTokens: await countOutputTokens(outcome.streamedText, admission.model),
      reasoningTokens: 0,
    };
    return { tokens, costUsd: this.prices.costOf(admission.model, tokens), estimated: true };
  }

  /** Current spend against each of a project's budgets, for `projects show`. */
  async projectBudgetStatus(project: CompiledProject, now: number): Promise<Array<{ period: string; period_key: string; limit_usd: number; spent_usd: number }>> {
    const budgets = project.limits.budgets ?? [];
    if (budgets.length === 0) return [];
    const checks = projectBudgetChecks(project, now);
    const spent = await this.backend.spent(project.id, checks.map((c) => c.periodKey));
    return budgets.map((b, i) => {
      const periodKeyValue = checks[i]?.periodKey ?? '';
      return { period: b.period, period_key: periodKeyValue, limit_usd: b.usd, spent_usd: spent[periodKeyValue] ?? 0 };
    });
  }

  /** Current spend against each budget, for `keys show`. */
  async budgetStatus(key: VirtualKeyRecord, now: number): Promise<Array<{ period: string; period_key: string; limit_usd: number; spent_usd: number }>> {
    const limits = key.limits as KeyLimits;
    const budgets = limits.budgets ?? [];
    if (budgets.length === 0) return [];
    const checks = budgetChecks(budgets, now, limits.time_zone ?? 'UTC');
    const spent = await this.backend.spent(key.id, checks.map((c) => c.periodKey));
    return budgets.map((b, i) => {
      const periodKeyValue = checks[i]?.periodKey ?? '';
      return { period: b.period, period_key: periodKeyValue, limit_usd: b.usd, spent_usd: spent[periodKeyValue] ?? 0 };
    });
  }
}
