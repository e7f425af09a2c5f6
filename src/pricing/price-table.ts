import { OPENAI_PRICES, type ModelPrice } from './openai-prices.js';

export interface TokenUsage {
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  /** Audio and image tokens, as the upstream reports them: parts of promptTokens and completionTokens. */
  audioPromptTokens?: number | undefined;
  imagePromptTokens?: number | undefined;
  audioCompletionTokens?: number | undefined;
  /** Cached audio input tokens, inside both cachedTokens and audioPromptTokens (Realtime reports them apart). */
  cachedAudioPromptTokens?: number | undefined;
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

  /**
   * The price a reservation must assume before the answer says which kinds of tokens were used: every input token at
   * the model's highest input rate, every output token at its highest output rate. The same object as priceOf for a
   * model that prices text only.
   */
  boundingPriceOf(model: string): ModelPrice | null {
    const price = this.priceOf(model);
    if (!price || (price.audioInput === undefined && price.imageInput === undefined && price.audioOutput === undefined)) return price;
    return {
      input: Math.max(price.input, price.audioInput ?? 0, price.imageInput ?? 0),
      output: Math.max(price.output, price.audioOutput ?? 0),
    };
  }

  /**
   * USD cost, or null when the model has no known price (the caller flags it). Audio and image tokens are billed at
   * their own rates where the model has them. Cached audio is billed at the cached audio rate only where the upstream
   * says how much of the cache was audio (Realtime does); the other cached tokens are taken from the text first, so
   * a cached audio token is never billed below its rate.
   */
  costOf(model: string | null, usage: TokenUsage): number | null {
    if (model === null) return null;
    const price = this.priceOf(model);
    if (!price) return null;
    const audioIn = price.audioInput === undefined ? 0 : Math.min(usage.audioPromptTokens ?? 0, usage.promptTokens);
    const imageIn = price.imageInput === undefined ? 0 : Math.min(usage.imagePromptTokens ?? 0, usage.promptTokens - audioIn);
    const textIn = usage.promptTokens - audioIn - imageIn;
    const cachedAudio = price.cachedAudioInput === undefined ? 0 : Math.min(usage.cachedAudioPromptTokens ?? 0, audioIn, usage.cachedTokens);
    const cached = Math.min(usage.cachedTokens - cachedAudio, textIn);
    const audioOut = price.audioOutput === undefined ? 0 : Math.min(usage.audioCompletionTokens ?? 0, usage.completionTokens);
    const micro =
      (textIn - cached) * price.input +
      cached * (price.cachedInput ?? price.input) +
      (audioIn - cachedAudio) * (price.audioInput ?? 0) +
      cachedAudio * (price.cachedAudioInput ?? 0) +
      imageIn * (price.imageInput ?? 0) +
      (usage.completionTokens - audioOut) * price.output +
      audioOut * (price.audioOutput ?? 0);
    return micro / 1_000_000;
  }
}
