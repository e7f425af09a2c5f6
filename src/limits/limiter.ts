import { KeywardenError } from '../errors/index.js';
import type { MeteredTokens } from '../gateway/usage-parse.js';
import type { ModelPrice, PriceTable } from '../pricing/index.js';
import { mediaCostOf, type MediaUsage } from '../pricing/media-prices.js';
import { KeyVersionCache } from '../util/key-version-cache.js';
import type { VirtualKeyRecord } from '../store/index.js';
import type { AcquireRequest, AcquireResult, BudgetCheck, LimitsBackend, RateCheck, Refusal, Settlement, Ticket, TokenCheck } from './backend.js';
import { KeyPlan, type TokenLimit } from './key-plan.js';
import { countInputTokens, countOutputTokens, shapeRequest, type CapField, type RequestShape } from './estimate.js';
import { periodKey } from './periods.js';
import { secondsUntilPeriodReset } from './period-reset.js';
import { formatUsd } from '../util/money.js';
import { parentBudgetChecks } from './child-budgets.js';
import { rateLimitHeaders } from './rate-headers.js';
import type { Budget, KeyLimits } from './schema.js';
import type { CompiledProject } from './project-limits.js';

const MINUTE = 60_000;
const DAY = 86_400_000;
/** The token checks of a key without tpm limits, shared by its requests (never mutated; not frozen, see backend.ts). */
const NO_TOKEN_CHECKS: TokenCheck[] = [];
/** Output cap injected for budgeted keys when the request has none and the key sets no max_output_tokens. */
export const DEFAULT_INJECTED_CAP = 4096;

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
  /**
   * What a request billed by the unit asks for (images, characters of speech, seconds of video; see
   * gateway/media-request.ts): a budget reserves its list price instead of a token bound.
   */
  media?: { readonly usage: MediaUsage; readonly invalidParam: string | null } | null;
}

export interface Admission {
  readonly ticket: Ticket;
  /** An output cap to write into the request body before forwarding. */
  readonly inject: { field: CapField; value: number } | null;
  /**
   * True when settlement may need the streamed text: a key with budgets or token limits whose reservation is $0
   * (see measure()). A priced reservation settles a stream without usage at the reservation itself, so its text is
   * never read, and the relay need not parse every event to collect it.
   */
  readonly trackStreamText: boolean;
  /**
   * Resolves once the reservation is in the durable ledger; null when it already is. The request must not be
   * forwarded before then. A rejection carries the refusal (the reservation is undone already).
   */
  readonly durable: Promise<void> | null;
  /** Tokenizer count of the request input; computed at most once. */
  inputTokens(): Promise<number>;
  /** The input tokens the reservation was sized with (the byte bound, or the tokenizer count near a limit). */
  readonly reservedInputTokens: number;
  /** The output tokens the reservation was sized with (the cap times the choices; 0 for input-only endpoints). */
  readonly reservedOutputTokens: number;
  readonly model: string | null;
  /** A request billed by the unit that a budget priced by what it asked for (see unitReservation); else null. */
  readonly unitUsage: MediaUsage | null;
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
 * The list price a budget reserves for a request billed by the unit, or null when it has none (a model without a
 * unit price, a transcription, a remix): then the token rules decide, which refuse what they cannot bound. A count a
 * lenient upstream would coerce is a 400: the reservation would price another request than the one run.
 */
function unitReservation(model: string | null, media: NonNullable<AdmitInput['media']>): number | null {
  if (media.invalidParam !== null) {
    throw new KeywardenError('KW_BAD_REQUEST', { message: `"${media.invalidParam}" must be a positive integer.`, param: media.invalidParam });
  }
  return model === null ? null : mediaCostOf(model, media.usage);
}

/**
 * What a request billed by the unit cost: the units the answer delivered (images, seconds) where it says, else what
 * was asked for, at list price. More than the reservation (an upstream that made more than asked) is charged as such.
 */
function unitCost(admission: Admission, asked: MediaUsage, tokens: MeteredTokens): number {
  const delivered = tokens.media === undefined ? asked : { ...asked, ...tokens.media };
  return mediaCostOf(admission.model ?? delivered.model ?? '', delivered) ?? admission.ticket.reservedUsd;
}

/** `next(value)`, after the value resolves if it is a promise: synchronous values stay synchronous. */
function then<T, U>(value: T | Promise<T>, next: (value: T) => U | Promise<U>): U | Promise<U> {
  return value instanceof Promise ? value.then(next) : next(value);
}

/**
 * One request's admission while it is decided, and the Admission handed to the gateway once it is: one object
 * per limited request (no closures), carrying what the steps of admit() share.
 */
class KeyAdmission implements Admission {
  ticket: Ticket = NO_TICKET;
  inject: Admission['inject'] = null;
  durable: Promise<void> | null = null;
  reservedInputTokens: number;
  reservedOutputTokens = 0;
  /** The output tokens reserved: the request's cap (or the injected one) times its choices. */
  cap: number | null;
  readonly extraOutput: number;
  price: ModelPrice | null = null;
  /** Reserved on top of the visible bound for inputs the provider expands server-side (opt-in). */
  allowanceUsd = 0;
  /** A request billed by the unit: its list price, reserved instead of a token bound, and what it asked for. */
  unitUsd: number | null = null;
  unitUsage: MediaUsage | null = null;
  private exact: number | null = null;

  constructor(
    readonly input: AdmitInput,
    readonly limits: KeyLimits,
    readonly project: CompiledProject | null,
    readonly rates: readonly RateCheck[],
    readonly tpm: readonly TokenLimit[],
    readonly budgets: readonly BudgetCheck[],
    readonly shape: RequestShape | null,
  ) {
    this.reservedInputTokens = shape?.inputBoundTokens ?? 0;
    this.cap = shape?.outputCap ?? null;
    this.extraOutput = shape?.extraOutputTokens ?? 0;
  }

  get model(): string | null {
    return this.input.model;
  }

  /** Read once the ticket is held; mirrors measure(), which reads the text only when nothing was reserved in USD. */
  get trackStreamText(): boolean {
    return (this.budgets.length > 0 || this.tpm.length > 0) && !(this.ticket.reservedUsd > 0);
  }

  get counted(): boolean {
    return this.exact !== null;
  }

  /** The tokenizer bound, never above the byte bound: both are upper bounds, the smaller one is kept. */
  async inputTokens(): Promise<number> {
    if (this.exact === null) {
      const bound = this.shape?.inputBoundTokens ?? this.input.bodyBytes;
      const counted = await countInputTokens(this.input.json, this.input.model, this.shape?.imageTokens ?? 0);
      this.exact = counted === null ? bound : Math.min(counted, bound);
    }
    return this.exact;
  }

  acquireRequest(inTokens: number): AcquireRequest {
    const project = this.project;
    const outputTokens = (this.cap ?? 0) + this.extraOutput;
    const amount = inTokens + outputTokens;
    return {
      keyId: this.input.key.id,
      now: this.input.now,
      rates: this.rates,
      tokens: this.tpm.length === 0 ? NO_TOKEN_CHECKS : this.tpm.map((t): TokenCheck => (t.scope === undefined ? { id: t.id, limit: t.limit, periodMs: MINUTE, amount } : { ...t, periodMs: MINUTE, amount })),
      concurrency: this.limits.concurrency ?? null,
      projectConcurrency: project?.limits.concurrency ? { projectId: project.id, limit: project.limits.concurrency } : null,
      budgets: this.budgets,
      reserveUsd: this.unitUsd !== null ? this.unitUsd : this.price ? costOf(this.price, inTokens, outputTokens) + this.allowanceUsd : 0,
    };
  }
}

/** Placeholder until acquire succeeds; never handed out (admit returns only admissions with their ticket). */
const NO_TICKET: Ticket = Object.freeze({ id: '', keyId: '', tokens: [], holdsConcurrency: false, budgetPeriodKeys: [], reservedUsd: 0, settled: true });

/**
 * Per-key limits on the request path: model rules, request rates (GCRA), tokens per minute (token bucket),
 * concurrency, a per-request output cap, and USD budgets through reserve → settle.
 *
 * The fast path: with the in-process backend and a key whose spend is in memory, admitNow() and settleNow()
 * decide, reserve, journal and settle synchronously — no promise — unless the tokenizer is needed (a request near
 * a limit, or a stream without usage). The decisions are the same either way.
 */
export class Limiter {
  private readonly plans = new KeyVersionCache((key: VirtualKeyRecord): KeyPlan => new KeyPlan(key.limits));

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
    if (!this.plans.get(input.key).empty || (input.project && !input.project.empty) || input.parent) return true;
    if (this.failClosedForAll && this.backend.available?.() === false) throw new KeywardenError('KW_LIMITS_UNAVAILABLE');
    return false;
  }

  /**
   * True when the key, its project or its parent counts tokens or spend (tpm, budgets, an output maximum). Those
   * limits hold only where each request's tokens are bounded before it runs, which a Realtime session's are not:
   * the provider starts responses on its own as the app streams audio.
   */
  countsTokensOrSpend(key: VirtualKeyRecord, project: CompiledProject | null, parent: VirtualKeyRecord | null): boolean {
    const limits = this.plans.get(key).limits;
    if (limits.tpm !== undefined || limits.max_output_tokens !== undefined || (limits.budgets?.length ?? 0) > 0) return true;
    if (limits.model_rules?.some((rule) => rule.tpm !== undefined) === true) return true;
    if (project && (project.limits.tpm !== undefined || (project.limits.budgets?.length ?? 0) > 0)) return true;
    return ((parent?.limits as KeyLimits | undefined)?.budgets?.length ?? 0) > 0;
  }

  /** Null when the key has no limits: the common case costs one map lookup. */
  async admit(input: AdmitInput): Promise<Admission | null> {
    const admission = await this.admitNow(input);
    if (admission?.durable) await admission.durable;
    return admission;
  }

  /**
   * admit(), synchronously where nothing needs to wait (see the class comment): the gateway's admit stage checks
   * `instanceof Promise`. A refusal is thrown (synchronously, or as the rejection).
   */
  admitNow(input: AdmitInput): Admission | null | Promise<Admission | null> {
    const plan = this.plans.get(input.key);
    const project = input.project && !input.project.empty ? input.project : null;
    const parentBudgets = input.parent ? parentBudgetChecks(input.parent, input.now) : null;
    if (plan.empty && project === null && parentBudgets === null) {
      if (this.failClosedForAll && this.backend.available?.() === false) throw new KeywardenError('KW_LIMITS_UNAVAILABLE');
      return null;
    }
    const { limits } = plan;
    const { model, now } = input;

    const byModel = plan.forModel(model);
    if (byModel.rule?.deny) {
      throw new KeywardenError('KW_MODEL_NOT_ALLOWED', { message: `This key may not use the model "${model}" (denied by a model rule).`, param: 'model' });
    }
    let rates = byModel.rates;
    let tpm = byModel.tpm;
    let budgets = plan.budgets(now);
    if (project) {
      // Shared by every key of the project: counted under the project's id, in the same atomic acquire.
      // The limit is part of the counter id, so an updated limit starts a fresh counter on the next request
      // (an old counter sized for rpm=2 would otherwise keep refusing after a raise to rpm=100).
      const shared = { scope: 'project' as const, scopeId: project.id };
      const { rpm, rpd, tpm: projectTpm } = project.limits;
      const projectRates: RateCheck[] = [...rates];
      const projectTokens: TokenLimit[] = [...tpm];
      if (rpm) projectRates.push({ id: `rpm@${rpm}`, limit: rpm, periodMs: MINUTE, ...shared });
      if (rpd) projectRates.push({ id: `rpd@${rpd}`, limit: rpd, periodMs: DAY, ...shared });
      if (projectTpm) projectTokens.push({ id: `tpm@${projectTpm}`, limit: projectTpm, ...shared });
      rates = projectRates;
      tpm = projectTokens;
      budgets = [...budgets, ...projectBudgetChecks(project, now)];
    }
    if (parentBudgets) budgets = [...budgets, ...parentBudgets];
    const budgeted = budgets.length > 0;
    const sizing = tpm.length > 0 || budgeted || limits.max_output_tokens !== undefined;
    const shape: RequestShape | null = sizing && input.costFree !== true ? shapeRequest(input.path, input.json, input.bodyBytes, model) : null;
    const admission = new KeyAdmission(input, limits, project, rates, tpm, budgets, shape);

    if (shape && limits.max_output_tokens !== undefined && admission.cap !== null && admission.cap / shape.choices > limits.max_output_tokens) {
      throw new KeywardenError('KW_OUTPUT_CAP_EXCEEDED', {
        message: `The requested output cap exceeds this key's maximum of ${limits.max_output_tokens} tokens per request.`,
        param: shape.capField,
      });
    }

    const unitUsd = budgeted && input.costFree !== true && input.media ? unitReservation(model, input.media) : null;
    if (unitUsd !== null) {
      admission.unitUsd = unitUsd;
      admission.unitUsage = input.media?.usage ?? null;
    } else if (budgeted && input.costFree !== true) {
      // Audio and image tokens can cost more than text, and only the answer says how many there were.
      const price = model === null ? null : this.prices.boundingPriceOf(model);
      if (!price || !shape || (!shape.capField && !shape.inputOnly)) {
        throw new KeywardenError('KW_PRICE_UNKNOWN', {
          message: `This key has a budget, and the cost of this request cannot be bounded: ${price ? 'its output is not priced per token' : `no price is known for the model "${model ?? '(none)'}"`}.`,
          param: 'model',
        });
      }
      admission.price = price;
      if (shape.unseen !== null) {
        if (limits.unbounded_allowance_usd === undefined) throw unseenInputError(shape.unseen);
        admission.allowanceUsd = limits.unbounded_allowance_usd;
      }
    }

    let capped: void | Promise<void> = undefined;
    if (shape && admission.cap === null && shape.capField && !shape.inputOnly) {
      if (budgeted && (limits.output_cap ?? 'inject') === 'reject') throw new KeywardenError('KW_OUTPUT_CAP_REQUIRED', { param: shape.capField });
      if (budgeted && admission.price) {
        const remaining = this.backend.budgetRemaining(input.key.id, budgets);
        capped = remaining instanceof Promise ? remaining.then((left) => this.injectBudgetCap(admission, left - admission.allowanceUsd)) : this.injectBudgetCap(admission, remaining - admission.allowanceUsd);
      } else if (limits.max_output_tokens !== undefined) {
        admission.inject = { field: shape.capField, value: limits.max_output_tokens };
        admission.cap = limits.max_output_tokens * shape.choices;
      }
    }
    // No closure on the synchronous path: each one is an allocation per request.
    return capped instanceof Promise ? capped.then(() => this.reserve(admission)) : this.reserve(admission);
  }

  /** The largest output cap the remaining budget pays for (at most the key's or the default cap), injected. */
  private injectBudgetCap(admission: KeyAdmission, remaining: number): void | Promise<void> {
    const price = admission.price as ModelPrice;
    // Near the limit the byte bound is too coarse: size the input with the tokenizer first.
    if (costOf(price, admission.reservedInputTokens, 0) >= remaining) {
      return admission.inputTokens().then((tokens) => {
        admission.reservedInputTokens = tokens;
        this.applyBudgetCap(admission, price, remaining);
      });
    }
    this.applyBudgetCap(admission, price, remaining);
  }

  private applyBudgetCap(admission: KeyAdmission, price: ModelPrice, remaining: number): void {
    const shape = admission.shape as RequestShape;
    const { limits } = admission;
    const perChoice = Math.floor((remaining - costOf(price, admission.reservedInputTokens, admission.extraOutput)) / (price.output / 1_000_000) / shape.choices);
    const value = Math.min(limits.max_output_tokens ?? DEFAULT_INJECTED_CAP, perChoice);
    if (value < 1) {
      const first = admission.budgets[0];
      throw this.refusalError({ reason: 'budget', retryAfterMs: 0, periodKey: first?.periodKey ?? '', ...(first?.scope === 'project' ? { scope: 'project' as const } : {}) }, limits, admission.input.now, admission.project);
    }
    admission.inject = { field: shape.capField as CapField, value };
    admission.cap = value * shape.choices;
  }

  /** The atomic acquire; refused on budget or tokens with the byte bound, it retries once with the tokenizer's. */
  private reserve(admission: KeyAdmission): Admission | Promise<Admission> {
    const acquired = this.backend.acquire(admission.acquireRequest(admission.reservedInputTokens));
    return acquired instanceof Promise ? acquired.then((result) => this.acquired(admission, result)) : this.acquired(admission, acquired);
  }

  private acquired(admission: KeyAdmission, result: AcquireResult): Admission | Promise<Admission> {
    if (!result.ok && (result.refusal.reason === 'budget' || result.refusal.reason === 'tokens') && !admission.counted && admission.shape) {
      return admission.inputTokens().then((tokens) => {
        if (tokens >= admission.reservedInputTokens) return this.admitted(admission, result);
        admission.reservedInputTokens = tokens;
        return then(this.backend.acquire(admission.acquireRequest(tokens)), (retried) => this.admitted(admission, retried));
      });
    }
    return this.admitted(admission, result);
  }

  private admitted(admission: KeyAdmission, result: AcquireResult): Admission {
    if (!result.ok) throw this.refusalError(result.refusal, admission.limits, admission.input.now, admission.project);
    admission.ticket = result.ticket;
    admission.durable = result.durable ?? null;
    admission.reservedOutputTokens = (admission.cap ?? 0) + admission.extraOutput;
    return admission;
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
    return this.settleNow(admission, outcome, now);
  }

  /**
   * settle(), synchronously when the upstream reported usage and the backend settles in process (the common
   * case): the gateway's settle stage checks `instanceof Promise`. A failure to measure still settles the ticket
   * at its full reservation before the error is thrown (or rejected).
   */
  settleNow(admission: Admission, outcome: SettleOutcome, now: number): SettledUsage | Promise<SettledUsage> {
    let measured: SettledUsage | Promise<SettledUsage>;
    try {
      // Reported usage (the common case) is measured synchronously; only tokenizer counts need a promise.
      measured = outcome.tokens ? this.measureReported(admission, outcome.tokens) : this.measure(admission, outcome);
    } catch (err) {
      return this.settleAtReservation(admission, now, err);
    }
    if (measured instanceof Promise) {
      return measured.then(
        (usage) => this.settleMeasured(admission, usage, now),
        (err: unknown) => this.settleAtReservation(admission, now, err),
      );
    }
    return this.settleMeasured(admission, measured, now);
  }

  private settleMeasured(admission: Admission, usage: SettledUsage, now: number): SettledUsage | Promise<SettledUsage> {
    const tokensUsed = usage.tokens ? usage.tokens.promptTokens + usage.tokens.completionTokens : 0;
    const settled = this.backend.settle(admission.ticket, { costUsd: usage.costUsd ?? 0, tokensUsed }, now);
    // No closure unless the backend answers later (the in-process one settles at once).
    return settled instanceof Promise ? settled.then(() => usage) : usage;
  }

  /** Measuring failed: the ticket is settled at its full reservation, then the error goes to the caller. */
  private settleAtReservation(admission: Admission, now: number, err: unknown): never | Promise<never> {
    const settlement: Settlement = { costUsd: admission.ticket.reservedUsd, tokensUsed: admission.reservedInputTokens + admission.reservedOutputTokens };
    return then(this.backend.settle(admission.ticket, settlement, now), () => {
      throw err;
    });
  }

  /** Usage the upstream reported is charged as is (see settle). */
  private measureReported(admission: Admission, tokens: MeteredTokens): SettledUsage {
    const reservedUsd = admission.ticket.reservedUsd;
    const asked = admission.unitUsage ?? null;
    const costUsd = asked !== null ? unitCost(admission, asked, tokens) : this.prices.costOf(admission.model, tokens);
    const overrunUsd = reservedUsd > 0 && costUsd !== null && costUsd > reservedUsd * (1 + 1e-9) + 1e-12 ? costUsd - reservedUsd : 0;
    return { tokens, costUsd, estimated: false, overrunUsd: overrunUsd > 0 ? overrunUsd : undefined };
  }

  private async measure(admission: Admission, outcome: SettleOutcome): Promise<SettledUsage> {
    const reservedUsd = admission.ticket.reservedUsd;
    const atReservation = (): SettledUsage => ({
      tokens: { promptTokens: admission.reservedInputTokens, cachedTokens: 0, completionTokens: admission.reservedOutputTokens, reasoningTokens: 0 },
      costUsd: reservedUsd,
      estimated: true,
    });
    if (outcome.tokens) return this.measureReported(admission, outcome.tokens);
    // Billed by the unit, with an answer that reports nothing (speech: the audio itself): what was asked for, at list
    // price, which is the reservation. No token estimate, which would be the body's bytes.
    if (admission.unitUsage !== null && (outcome.status < 400 || outcome.abandoned === true)) return { tokens: null, costUsd: reservedUsd, estimated: false };
    if (outcome.abandoned && reservedUsd > 0) return atReservation();
    const producedSomething = outcome.status < 400 || outcome.streamedText.length > 0;
    if (!producedSomething) return { tokens: null, costUsd: 0, estimated: false };
    if (reservedUsd > 0) return atReservation();
    // Nothing reserved in USD (token limits only, or a free request): count what was streamed, for the token
    // bucket and the usage record. Only here is the text read, so only then is it collected (trackStreamText).
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
