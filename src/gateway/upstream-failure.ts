import { KeywardenError } from '../errors/index.js';
import type { LogFields } from '../log/logger.js';

/**
 * Where and how an upstream request failed, kept as the cause of the client-facing error so the operator's log
 * line can name the upstream host, the system error and how many attempts were made. Clients see none of it.
 */
export class UpstreamFailure extends Error {
  constructor(
    readonly origin: string,
    readonly attempts: number,
    cause: unknown,
  ) {
    super('upstream request failed', { cause });
    this.name = 'UpstreamFailure';
  }
}

export function errnoOf(err: unknown): string | undefined {
  // undici reports socket errors directly (ECONNREFUSED) or wrapped, with the system error as `cause`.
  for (let current = err, depth = 0; current !== null && typeof current === 'object' && depth < 3; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Log fields for an upstream failure: host (origin without credentials or path), errno and attempts. */
export function upstreamFailureFields(err: unknown): LogFields {
  const failure = err instanceof KeywardenError ? err.cause : undefined;
  if (!(failure instanceof UpstreamFailure)) return {};
  let host: string;
  try {
    host = new URL(failure.origin).host;
  } catch {
    host = 'unknown';
  }
  const cause = failure.cause;
  return {
    upstreamHost: host,
    errno: errnoOf(cause),
    errorClass: cause instanceof Error ? cause.name : typeof cause,
    attempts: failure.attempts,
  };
}
