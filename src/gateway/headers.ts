import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** RFC 9110 §7.6.1 hop-by-hop headers, plus ones the gateway owns. None are forwarded in either direction. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Client headers that must never reach the upstream: credentials, routing and framing that the gateway sets. */
const CLIENT_ONLY = new Set([
  'authorization',
  'api-key',
  'x-api-key',
  'cookie',
  'host',
  'content-length',
  'accept-encoding',
  'expect',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-real-ip',
  'forwarded',
  'openai-organization',
  'openai-project',
  // Scopes and object ownership are decided on the request's own method; an upstream honouring an override
  // would act on another (a POST checked as a creation, run as a list).
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
]);

/** Upstream headers that must never reach the client. */
const UPSTREAM_ONLY = new Set(['set-cookie', 'content-length', 'openai-organization', 'openai-project']);

const NONE: ReadonlySet<string> = new Set();
const CLOSE: ReadonlySet<string> = new Set(['close']);

/**
 * Header names the Connection header marks hop-by-hop. The usual values (none, `keep-alive`, which is dropped
 * anyway, and `close`) are answered with shared sets: this runs twice per request (request and response headers).
 */
function namedInConnection(connection: string | string[] | undefined): ReadonlySet<string> {
  if (connection === undefined) return NONE;
  if (typeof connection === 'string') {
    const lower = connection.length <= 10 ? connection.toLowerCase() : '';
    if (lower === 'keep-alive') return NONE;
    if (lower === 'close') return CLOSE;
  }
  const text = Array.isArray(connection) ? connection.join(',') : connection;
  return new Set(text.split(',').map((token) => token.trim().toLowerCase()).filter(Boolean));
}

export function forwardRequestHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const dynamic = namedInConnection(headers.connection);
  const out: Record<string, string> = {};
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || CLIENT_ONLY.has(name) || dynamic.has(name)) continue;
    const value = headers[name];
    if (value === undefined) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  // Ask for identity encoding so usage can be read and key material scrubbed without inflating bodies.
  out['accept-encoding'] = 'identity';
  return out;
}

export function forwardResponseHeaders(headers: Record<string, string | string[] | undefined>): OutgoingHttpHeaders {
  const dynamic = namedInConnection(headers.connection);
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || UPSTREAM_ONLY.has(name) || dynamic.has(name)) continue;
    const value = headers[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}
