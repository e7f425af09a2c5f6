/**
 * Token bucket for tokens per minute: capacity `limit`, refilled continuously at `limit` per `periodMs`.
 * Requests are charged an estimate up front and corrected afterwards, so the level may go below zero when a
 * request used more than estimated; the debt is then paid back by the refill before anything else is admitted.
 */
export interface BucketState {
  level: number;
  at: number;
}

export function refill(state: BucketState, now: number, limit: number, periodMs: number): BucketState {
  if (now <= state.at) return state;
  return { level: Math.min(limit, state.level + ((now - state.at) * limit) / periodMs), at: now };
}

export interface BucketDecision {
  allowed: boolean;
  state: BucketState;
  remaining: number;
  retryAfterMs: number;
  resetMs: number;
}

export function take(state: BucketState, now: number, amount: number, limit: number, periodMs: number): BucketDecision {
  const current = refill(state, now, limit, periodMs);
  const msPerToken = periodMs / limit;
  // A request larger than the whole bucket can never fit; it is admitted when the bucket is full, so a big
  // prompt is slowed down rather than refused forever.
  const needed = Math.min(amount, limit);
  if (current.level + 1e-9 < needed) {
    return {
      allowed: false,
      state: current,
      remaining: Math.max(0, Math.floor(current.level)),
      retryAfterMs: Math.ceil((needed - current.level) * msPerToken),
      resetMs: Math.ceil((limit - current.level) * msPerToken),
    };
  }
  const next = { level: current.level - amount, at: current.at };
  return {
    allowed: true,
    state: next,
    remaining: Math.max(0, Math.floor(next.level)),
    retryAfterMs: 0,
    resetMs: Math.ceil((limit - next.level) * msPerToken),
  };
}

/** Corrects an earlier charge: positive `delta` charges more, negative refunds. */
export function adjust(state: BucketState, now: number, delta: number, limit: number, periodMs: number): BucketState {
  const current = refill(state, now, limit, periodMs);
  return { level: Math.min(limit, current.level - delta), at: current.at };
}
