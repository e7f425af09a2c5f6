/**
 * Generic Cell Rate Algorithm: `limit` requests per `periodMs`, with a burst of up to `limit`. Equivalent to a
 * token bucket of capacity `limit` refilled continuously, but the whole state is one number, the theoretical
 * arrival time (TAT), which makes it cheap to keep per key and easy to move to Redis later.
 */
export interface GcraDecision {
  allowed: boolean;
  /** TAT to store (unchanged when refused). */
  tat: number;
  /** Requests that could still be admitted right now after this decision. */
  remaining: number;
  /** Ms until a request would be admitted (0 when allowed). */
  retryAfterMs: number;
  /** Ms until the full burst is available again. */
  resetMs: number;
}

const EPSILON = 1e-9;

export function gcra(tat: number, now: number, limit: number, periodMs: number): GcraDecision {
  const interval = periodMs / limit;
  const newTat = gcraAdmit(tat, now, limit, periodMs);
  if (Number.isNaN(newTat)) {
    return {
      allowed: false,
      tat,
      remaining: 0,
      retryAfterMs: Math.ceil(Math.max(tat, now) + interval - periodMs - now),
      resetMs: Math.ceil(Math.max(tat, now) - now),
    };
  }
  return {
    allowed: true,
    tat: newTat,
    remaining: Math.floor((periodMs - (newTat - now)) / interval + EPSILON),
    retryAfterMs: 0,
    resetMs: Math.ceil(newTat - now),
  };
}

/**
 * The TAT after admitting one more request, or NaN when it must be refused: gcra()'s decision without its
 * object, for the admission path (a refusal then asks gcra() for the details).
 */
export function gcraAdmit(tat: number, now: number, limit: number, periodMs: number): number {
  const newTat = Math.max(tat, now) + periodMs / limit;
  return newTat - now > periodMs + EPSILON ? NaN : newTat;
}

/** Peeks without consuming, for rate-limit headers on refusals caused by another limit. */
export function gcraRemaining(tat: number, now: number, limit: number, periodMs: number): number {
  const interval = periodMs / limit;
  return Math.max(0, Math.floor((periodMs - (Math.max(tat, now) - now)) / interval + EPSILON));
}
