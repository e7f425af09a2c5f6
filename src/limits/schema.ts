import { z } from 'zod';
import { MAX_MODEL_GLOB_LENGTH } from '../policy/model-glob.js';

export const BUDGET_PERIODS = ['day', 'week', 'month', 'lifetime'] as const;
export type BudgetPeriod = (typeof BUDGET_PERIODS)[number];

const positiveInt = z.number().int().positive();
const modelGlob = z.string().min(1).max(MAX_MODEL_GLOB_LENGTH);

export const modelRuleSchema = z
  .object({
    /** Glob over model names; the first matching rule wins. */
    match: modelGlob,
    deny: z.boolean().optional(),
    rpm: positiveInt.optional(),
    rpd: positiveInt.optional(),
    tpm: positiveInt.optional(),
  })
  .strict();

export const budgetSchema = z.object({ usd: z.number().positive(), period: z.enum(BUDGET_PERIODS) }).strict();

const timeZone = z.string().refine(
  (tz) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  },
  { message: 'unknown IANA time zone' },
);

/** A key's limits, stored with the key and validated by the admin API. Every field is optional. */
export const keyLimitsSchema = z
  .object({
    rpm: positiveInt.optional(),
    rpd: positiveInt.optional(),
    tpm: positiveInt.optional(),
    concurrency: positiveInt.optional(),
    max_output_tokens: positiveInt.optional(),
    budgets: z.array(budgetSchema).max(8).optional(),
    /** Budget periods reset at calendar boundaries in this zone (default UTC). */
    time_zone: timeZone.optional(),
    /** With a budget and no output cap on the request: inject one that fits, or reject. */
    output_cap: z.enum(['inject', 'reject']).optional(),
    model_rules: z.array(modelRuleSchema).max(50).optional(),
    /**
     * Opt-in for inputs whose cost the gateway cannot see (previous_response_id, conversation, stored prompts,
     * file inputs, background, hosted tools): this many USD are reserved in full, per request, on top of the
     * visible bound. Without it a budgeted key is refused such requests (cost_not_bounded).
     */
    unbounded_allowance_usd: z.number().positive().finite().optional(),
  })
  .strict();

export type KeyLimits = z.infer<typeof keyLimitsSchema>;
export type ModelRule = z.infer<typeof modelRuleSchema>;
export type Budget = z.infer<typeof budgetSchema>;

/** Parses the CLI's `5/day`, `100/month`, `$20/week`, `50/lifetime`. */
export function parseBudget(text: string): Budget | null {
  const match = /^\$?(\d+(?:\.\d+)?)\s*\/\s*(day|week|month|lifetime)$/i.exec(text.trim());
  if (!match) return null;
  return { usd: Number(match[1]), period: (match[2] as string).toLowerCase() as BudgetPeriod };
}

/** Parses the CLI's `gpt-4*:rpm=10,tpm=1000` into a model rule. */
export function parseModelRule(text: string): ModelRule | null {
  const at = text.lastIndexOf(':');
  if (at <= 0) return null;
  const rule: ModelRule = { match: text.slice(0, at) };
  for (const part of text.slice(at + 1).split(',')) {
    const [name, value] = part.split('=').map((s) => s.trim());
    const n = Number(value);
    if ((name !== 'rpm' && name !== 'rpd' && name !== 'tpm') || !Number.isInteger(n) || n <= 0) return null;
    rule[name] = n;
  }
  return rule;
}
