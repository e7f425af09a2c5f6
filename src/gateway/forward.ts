import { once } from 'node:events';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { errors as undiciErrors } from 'undici';
import { KeywardenError } from '../errors/index.js';
import { forwardResponseHeaders } from './headers.js';
import { SseRelay } from './sse-relay.js';
import type { UpstreamRuntime } from './upstream-registry.js';
import { usageFromJsonBody, type MeteredTokens } from './usage-parse.js';

export interface ForwardRequest {
  upstream: UpstreamRuntime;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer | string | null;
  signal: AbortSignal;
  connectRetries: number;
  /** True when the gateway added stream_options.include_usage and must hide the usage chunk again. */
  dropInjectedUsageChunk: boolean;
  /** Keep streamed text so a cut stream can still be metered by a tokenizer. */
  trackStreamText: boolean;
  /** Rewrites a successful JSON body before it is sent (e.g. filtering /v1/models). */
  transformJson?: ((body: unknown) => unknown) | undefined;
}

export interface ForwardResult {
  status: number;
  tokens: MeteredTokens | null;
  /** The upstream stream ended before completing (cut by upstream, client or timeout). */
  incomplete: boolean;
  /** Text streamed to the client, when tracked. */
  streamedText: string;
  errorCode: string | null;
}

/** Connect-phase failures: nothing reached the upstream, so trying again cannot duplicate a request. */
const CONNECT_ERRORS = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

function errorCodeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export async function requestWithRetry(req: ForwardRequest): Promise<Awaited<ReturnType<UpstreamRuntime['pool']['request']>>> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await req.upstream.pool.request({
        method: req.method,
        path: req.path,
        headers: req.headers,
        body: req.body,
        signal: req.signal,
      });
    } catch (err) {
      if (req.signal.aborted) throw err;
      const code = errorCodeOf(err);
      if (code !== undefined && CONNECT_ERRORS.has(code) && attempt < req.connectRetries) continue;
      throw translateUpstreamError(err);
    }
  }
}

export function translateUpstreamError(err: unknown): KeywardenError {
  if (err instanceof KeywardenError) return err;
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError) {
    return new KeywardenError('KW_UPSTREAM_TIMEOUT', { cause: err });
  }
  return new KeywardenError('KW_UPSTREAM_UNAVAILABLE', { cause: err });
}

function isEventStream(headers: IncomingHttpHeaders): boolean {
  const type = headers['content-type'];
  return typeof type === 'string' && type.startsWith('text/event-stream');
}

function isJson(headers: IncomingHttpHeaders): boolean {
  const type = headers['content-type'];
  return typeof type === 'string' && type.includes('json');
}

/**
 * Sends the request upstream and relays the answer to the client:
 * - SSE: event by event, as they arrive, with usage read from the stream;
 * - JSON: buffered (it is small), scrubbed of key material, usage read from the body;
 * - anything else (audio, images as bytes): streamed through untouched on success.
 */
export async function forward(req: ForwardRequest, res: ServerResponse): Promise<ForwardResult> {
  const upstreamRes = await requestWithRetry(req);
  const { statusCode, headers, body } = upstreamRes;
  const outHeaders = forwardResponseHeaders(headers);
  const scrub = statusCode >= 400 ? req.upstream.scrub.error : req.upstream.scrub.any;

  if (isEventStream(headers) && statusCode < 400) {
    return relayStream(req, res, statusCode, outHeaders, body);
  }

  if (statusCode >= 400 || isJson(headers)) {
    let text: string;
    try {
      text = await body.text();
    } catch (err) {
      throw translateUpstreamError(err);
    }
    let tokens: MeteredTokens | null = null;
    if (statusCode < 400 && isJson(headers)) {
      tokens = usageFromJsonBody(text);
      if (req.transformJson) text = JSON.stringify(req.transformJson(JSON.parse(text)));
    }
    const payload = scrub(text);
    res.writeHead(statusCode, { ...outHeaders, 'content-length': Buffer.byteLength(payload) });
    res.end(payload);
    return { status: statusCode, tokens, incomplete: false, streamedText: '', errorCode: null };
  }

  res.writeHead(statusCode, outHeaders);
  try {
    for await (const chunk of body) {
      if (!res.write(chunk as Buffer)) await once(res, 'drain', { signal: req.signal });
    }
  } catch {
    res.destroy();
    return { status: statusCode, tokens: null, incomplete: true, streamedText: '', errorCode: 'upstream_cut' };
  }
  res.end();
  return { status: statusCode, tokens: null, incomplete: false, streamedText: '', errorCode: null };
}

async function relayStream(
  req: ForwardRequest,
  res: ServerResponse,
  status: number,
  headers: ReturnType<typeof forwardResponseHeaders>,
  body: AsyncIterable<unknown>,
): Promise<ForwardResult> {
  res.writeHead(status, headers);
  res.flushHeaders();
  let backpressure = false;
  const relay = new SseRelay({
    dropInjectedUsageChunk: req.dropInjectedUsageChunk,
    trackText: req.trackStreamText,
    scrub: req.upstream.scrub.any,
    emit: (text) => {
      if (!res.write(text)) backpressure = true;
    },
  });
  let incomplete = false;
  let errorCode: string | null = null;
  try {
    for await (const chunk of body) {
      relay.push(chunk as Buffer);
      if (backpressure) {
        backpressure = false;
        await once(res, 'drain', { signal: req.signal });
      }
    }
    relay.end();
  } catch (err) {
    incomplete = true;
    errorCode = req.signal.aborted ? 'client_disconnected' : translateUpstreamError(err).apiCode;
  }
  if (incomplete) res.destroy();
  else res.end();
  return { status, tokens: relay.meteredUsage, incomplete, streamedText: relay.outputText, errorCode };
}
