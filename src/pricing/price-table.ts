import { OPENAI_PRICES, type ModelPrice } from './openai-prices.js';

export interface TokenUsage {
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
}

/** Dated snapshots (`gpt-4o-mini-2024-07-18`, `gpt-4.1-2025-04-14`) bill like their base model. */
const SNAPSHOT_SUFFIX = /-\d{4}-\d{2}-\d{2}$/;

/** Looks up prices (overrides first, exact name before snapshot fallback) and prices token usage. */
export class PriceTable {
  private readonly prices: Map<string, ModelPrice>;
  private readonly resolved = new Map<string, ModelPrice | null>();

  constructor(overrides: Readonly<Record<string, ModelPrice>> = {}) {
    this.prices = new Map(Object.entries({ ...OPENAI_PRICES, ...overrides }));
  }

  priceOf(model: string): ModelPrice | null {
    const cached = this.resolved.get(model);
    if (cached !== undefined) return cached;
    const price = this.prices.get(model) ?? this.prices.get(model.replace(SNAPSHOT_SUFFIX, '')) ?? null;
    if (this.resolved.size < 10_000) this.resolved.set(model, price);
    return price;
  }

  /** USD cost, or null when the model has no known price (the caller flags it). */
  costOf(model: string | null, usage: TokenUsage): number | null {
    if (model === null) return null;
    const price = this.priceOf(model);
    if (!price) return null;
    const cached = Math.min(usage.cachedTokens, usage.promptTokens);
    const uncached = usage.promptTokens - cached;
    const micro =
      uncached * price.input + cached * (price.cachedInput ?? price.input) + usage.completionTokens * price.output;
    return micro / 1_000_000;
  }
}
