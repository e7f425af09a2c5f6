import type { RollupCounters } from './repositories.js';

export function emptyCounters(): RollupCounters {
  return {
    requests: 0,
    errors: 0,
    promptTokens: 0,
    completionTokens: 0,
    cachedTokens: 0,
    reasoningTokens: 0,
    costUsd: 0,
    unpriced: 0,
    latencySumMs: 0,
    latencyMaxMs: 0,
  };
}

/** Adds `from` into `into`: sums, except the latency maximum. */
export function addCounters(into: RollupCounters, from: RollupCounters): void {
  into.requests += from.requests;
  into.errors += from.errors;
  into.promptTokens += from.promptTokens;
  into.completionTokens += from.completionTokens;
  into.cachedTokens += from.cachedTokens;
  into.reasoningTokens += from.reasoningTokens;
  into.costUsd += from.costUsd;
  into.unpriced += from.unpriced;
  into.latencySumMs += from.latencySumMs;
  into.latencyMaxMs = Math.max(into.latencyMaxMs, from.latencyMaxMs);
}
