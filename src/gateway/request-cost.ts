import { mediaCostOf, type MediaUsage } from '../pricing/media-prices.js';
import type { PriceTable } from '../pricing/price-table.js';
import type { MediaRequest } from './media-request.js';
import type { MeteredTokens } from './usage-parse.js';

export interface PricedRequest {
  costUsd: number | null;
  /** The request was billed and the gateway could not say how much: recorded with cost null and counted as unpriced. */
  priceMissing: boolean;
}

function billsByUnit(usage: MediaUsage): boolean {
  return usage.images !== undefined || usage.characters !== undefined || usage.audioSeconds !== undefined || usage.videoSeconds !== undefined;
}

/**
 * The cost of a finished request. `settledCostUsd`: what the limiter settled from the same tokens, when it did.
 *
 * A successful media request is priced by its units (images, characters, seconds) where its model has a unit price,
 * else by its tokens (GPT Image, the GPT-4o transcribe models, streamed gpt-4o-mini-tts). One that has neither, e.g.
 * gpt-4o-mini-tts answering bare audio, is flagged as unpriced rather than recorded at $0.00: a spend that nothing
 * reports is exactly what a stolen key hides behind.
 */
export function priceRequest(
  prices: PriceTable,
  model: string | null,
  status: number,
  tokens: MeteredTokens | null,
  media: MediaRequest | null,
  settledCostUsd: number | null | undefined,
): PricedRequest {
  const billed = media !== null && status < 400;
  if (billed) {
    const units = tokens?.media === undefined ? media.usage : { ...media.usage, ...tokens.media };
    const unitModel = model ?? units.model ?? null;
    const byUnit = unitModel !== null && billsByUnit(units) ? mediaCostOf(unitModel, units) : null;
    if (byUnit !== null) return { costUsd: byUnit, priceMissing: false };
    // Neither units with a price nor token counts (a bare answer, or units of a model priced otherwise).
    if (tokens === null || tokens.media !== undefined) return { costUsd: null, priceMissing: true };
  }
  const costUsd = settledCostUsd !== undefined ? settledCostUsd : tokens ? prices.costOf(model, tokens) : 0;
  return { costUsd, priceMissing: tokens !== null && costUsd === null };
}
