/**
 * Token bucket for tokens per minute: capacity `limit`, refilled continuously at `limit` per `periodMs`.
 * Requests are charged an estimate up front and corrected afterwards, so the level may go below zero when a
 * request used more than estimated; the debt is then paid back by the refill before anything else is admitted.
 *
 * The admission path works on numbers (levelAfterTake) and the in-process counters update their own state in place
 * (adjustInPlace): no object per request. take() builds the full decision, for a refusal's details.
 */
export interface BucketState {
  level: number;
  at: number;
}

/** The level refilled to `now` (a clock that went back refills nothing). */
export function levelAt(state: BucketState, now: number, limit: number, periodMs: number): number {
  return now <= state.at ? state.level : Math.min(limit, state.level + ((now - state.at) * limit) / periodMs);
}

/**
 * The level after taking `amount` at `now`, or NaN when it must be refused. A request larger than the whole bucket
 * can never fit; it is admitted when the bucket is full, so a big prompt is slowed down rather than refused forever.
 */
export function levelAfterTake(state: BucketState, now: number, amount: number, limit: number, periodMs: number): number {
  const level = levelAt(state, now, limit, periodMs);
  return level + 1e-9 < Math.min(amount, limit) ? NaN : level - amount;
}

export interface BucketDecision {
  allowed: boolean;
  /** The state after the decision (refilled; charged when allowed). */
  state: BucketState;
  remaining: number;
  retryAfterMs: number;
  resetMs: number;
}

export function take(state: BucketState, now: number, amount: number, limit: number, periodMs: number): BucketDecision {
  const msPerToken = periodMs / limit;
  const at = Math.max(state.at, now);
  const after = levelAfterTake(state, now, amount, limit, periodMs);
  if (Number.isNaN(after)) {
    const level = levelAt(state, now, limit, periodMs);
    return {
      allowed: false,
      state: { level, at },
      remaining: Math.max(0, Math.floor(level)),
      retryAfterMs: Math.ceil((Math.min(amount, limit) - level) * msPerToken),
      resetMs: Math.ceil((limit - level) * msPerToken),
    };
  }
  return {
    allowed: true,
    state: { level: after, at },
    remaining: Math.max(0, Math.floor(after)),
    retryAfterMs: 0,
    resetMs: Math.ceil((limit - after) * msPerToken),
  };
}

/** Sets the state to `level` at `now` (an admission's charge, computed by levelAfterTake). */
export function chargeInPlace(state: BucketState, now: number, level: number): void {
  state.level = level;
  state.at = Math.max(state.at, now);
}

/** Corrects an earlier charge in place: positive `delta` charges more, negative refunds. */
export function adjustInPlace(state: BucketState, now: number, delta: number, limit: number, periodMs: number): void {
  chargeInPlace(state, now, Math.min(limit, levelAt(state, now, limit, periodMs) - delta));
}
