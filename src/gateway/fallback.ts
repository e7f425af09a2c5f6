import { KeywardenError } from '../errors/index.js';
import { CONNECT_ERRORS } from './forward.js';
import { UpstreamFailure, errnoOf } from './upstream-failure.js';

/**
 * Ordered fallbacks, the rule: the next upstream is tried only when the request provably did not run on this one,
 * so a retry can neither duplicate work nor double-bill:
 * - nothing was sent: connect refused, unreachable, connect timeout, outbound policy refusal, an upstream that is
 *   misconfigured or gone (this function);
 * - the provider answered 5xx or 429 before any byte went to the client (forward's failOverOnStatus): OpenAI does
 *   not perform or bill such requests, and the gateway drops the answer unread.
 * Never: a 2xx/3xx/4xx answer (a 400 is the client's fault everywhere), a headers or body timeout (the request
 * may be running upstream and billed), a stream cut after its headers, a client that left.
 */
export function failedBeforeSending(err: unknown): boolean {
  if (!(err instanceof KeywardenError)) return false;
  if (err.code === 'KW_UPSTREAM_MISCONFIGURED' || err.code === 'KW_NO_UPSTREAM') return true;
  const failure = err.cause;
  if (!(failure instanceof UpstreamFailure)) return false;
  const errno = errnoOf(failure.cause);
  return errno !== undefined && (CONNECT_ERRORS.has(errno) || errno === 'EOUTBOUNDREFUSED');
}

export const NO_FALLBACKS: readonly string[] = Object.freeze([]);
