import type { IncomingHttpHeaders } from 'node:http';
import { REQUEST_ID_HEADER } from './request-id.js';

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

/** Upstream headers that must never reach the client (the request id is the gateway's own, written with the answer). */
const UPSTREAM_ONLY = new Set(['set-cookie', 'content-length', 'openai-organization', 'openai-project', REQUEST_ID_HEADER]);

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

/**
 * An upstream response's headers as the client gets them. Built from the name/value list undici's parser delivers
 * (see forward.ts): no header object is made for the response, only the list `res.writeHead` takes.
 */
export interface ForwardedResponseHeaders {
  /** Lower-cased names and their values, alternating (`[name, value, name, value…]`); repeated headers stay repeated. */
  list: string[];
  /** The Content-Type, lower-cased: '' when there is none, or more than one. */
  contentType: string;
  /** Every Content-Encoding value, joined with commas, or null when there is none. */
  contentEncoding: string | null;
}

/** A header name or value from undici's list: bytes (HTTP/1.1) or already a string. Latin-1, as undici decodes them. */
function headerText(raw: Buffer | string): string {
  return typeof raw === 'string' ? raw : raw.toString('latin1');
}

/**
 * The headers to relay from an upstream response, from its raw name/value list: hop-by-hop headers, those the
 * Connection header names, and upstream-only ones (cookies, length, organisation) are dropped.
 */
export function forwardResponseHeaders(raw: ReadonlyArray<Buffer | string>): ForwardedResponseHeaders {
  const names: string[] = [];
  let connection: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = headerText(raw[i] as Buffer | string).toLowerCase();
    names.push(name);
    if (name === 'connection') {
      const value = headerText(raw[i + 1] as Buffer | string);
      connection = connection === undefined ? value : `${connection},${value}`;
    }
  }
  const dynamic = namedInConnection(connection);
  const list: string[] = [];
  let contentType = '';
  let contentTypes = 0;
  let contentEncoding: string | null = null;
  for (let n = 0; n < names.length; n++) {
    const name = names[n] as string;
    if (HOP_BY_HOP.has(name) || UPSTREAM_ONLY.has(name) || dynamic.has(name)) continue;
    const value = headerText(raw[2 * n + 1] as Buffer | string);
    if (name === 'content-type') {
      contentTypes++;
      contentType = contentTypes === 1 ? value.toLowerCase() : '';
    } else if (name === 'content-encoding') contentEncoding = contentEncoding === null ? value : `${contentEncoding},${value}`;
    list.push(name, value);
  }
  return { list, contentType, contentEncoding };
}

/** The list without the headers of one name (e.g. content-encoding once the body is decoded). */
export function withoutHeader(list: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < list.length; i += 2) if (list[i] !== name) out.push(list[i] as string, list[i + 1] as string);
  return out;
}
