import { fetch, type Dispatcher } from 'undici';
import { KeywardenError } from '../../errors/index.js';

/** Statuses where the receiver may accept the same delivery later. */
const RETRYABLE_STATUS = new Set([408, 425, 429]);

function failureCode(err: unknown): string {
  const cause = err instanceof Error ? (err.cause as { code?: unknown } | undefined) : undefined;
  if (typeof cause?.code === 'string') return cause.code;
  if (err instanceof Error && err.name === 'TimeoutError') return 'timeout';
  return err instanceof Error ? err.name : 'error';
}

/**
 * POSTs a body and classifies the outcome for delivery retries. Redirects are not followed: a signed alert goes
 * only where it was configured to go. Error messages carry the sink name and a status or code, never the URL.
 */
export async function postForSink(
  sink: string,
  url: string,
  body: string,
  headers: Record<string, string>,
  options: { timeoutMs: number; signal: AbortSignal; dispatcher: Dispatcher },
): Promise<void> {
  let response: Awaited<ReturnType<typeof fetch>>;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers,
      body,
      redirect: 'manual',
      // Connections go through the outbound policy (sink-network.ts): checked again at connect time.
      dispatcher: options.dispatcher,
      signal: AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs)]),
    });
  } catch (err) {
    if (options.signal.aborted) throw err;
    throw new KeywardenError('KW_ALERT_DELIVERY_FAILED', { message: `${sink}: request failed (${failureCode(err)})` });
  }
  // Drain the body so the connection can be reused; its content is not needed.
  await response.arrayBuffer().catch(() => undefined);
  if (response.status >= 200 && response.status < 300) return;
  const retryable = response.status >= 500 || RETRYABLE_STATUS.has(response.status);
  throw new KeywardenError(retryable ? 'KW_ALERT_DELIVERY_FAILED' : 'KW_ALERT_DELIVERY_REJECTED', {
    message: `${sink}: HTTP ${response.status}`,
  });
}
