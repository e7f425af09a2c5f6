// Serves the console at `/`: hashed assets with a long cache, index.html (no-store) for the console's client
// routes (SPA fallback), strict security headers on every answer. Server routes (/v1, /admin, /healthz, ...) are
// dispatched before this handler; their first segments are also refused here, so the fallback never answers for
// them (e.g. /admin without a trailing slash, /metrics/x).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ConsoleAsset, ConsoleAssets } from './console-assets.js';
import { CONSOLE_SECURITY_HEADERS, IMMUTABLE_CACHE, NO_STORE } from './console-headers.js';

const RESERVED_FIRST_SEGMENTS = new Set(['v1', 'admin', 'healthz', 'readyz', 'metrics', 'leaks']);
/**
 * The console's own client routes (console/src/app.tsx), and only these, answer with index.html: any other path
 * keeps the server's JSON 404 with its stable code, as before the console existed. Plain characters only: no
 * dots, percent-escapes or backslashes.
 */
const CLIENT_ROUTE = /^\/(?:(?:setup|overview|keys|upstreams|alerts|usage|audit|security|sessions|users)\/?|keys\/[A-Za-z0-9_-]{1,100}\/?)?$/;
const MAX_PATH_LENGTH = 512;

const NOT_FOUND_BODY = JSON.stringify({ error: { message: 'Unknown route.', type: 'invalid_request_error', param: null, code: 'not_found' } });
const METHOD_BODY = JSON.stringify({ error: { message: 'Method not allowed.', type: 'invalid_request_error', param: null, code: 'method_not_allowed' } });

function plain(res: ServerResponse, status: number, body: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...CONSOLE_SECURITY_HEADERS, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': NO_STORE, ...extra });
  res.end(body);
}

function acceptsGzip(req: IncomingMessage): boolean {
  const header = req.headers['accept-encoding'];
  return typeof header === 'string' && /(?:^|,)\s*gzip\s*(?:;\s*q=(?!0(?:\.0*)?\s*(?:,|$))[\d.]+)?\s*(?:,|$)/i.test(header);
}

function send(req: IncomingMessage, res: ServerResponse, asset: ConsoleAsset, cacheControl: string): void {
  const headers: Record<string, string | number> = {
    ...CONSOLE_SECURITY_HEADERS,
    'content-type': asset.contentType,
    'cache-control': cacheControl,
    etag: asset.etag,
  };
  if (asset.gzip) headers.vary = 'Accept-Encoding';
  if (asset.immutable && req.headers['if-none-match'] === asset.etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const gzip = asset.gzip !== null && acceptsGzip(req);
  const body = gzip ? (asset.gzip as Buffer) : asset.body;
  if (gzip) headers['content-encoding'] = 'gzip';
  headers['content-length'] = body.length;
  res.writeHead(200, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}

export type ConsoleHandler = (req: IncomingMessage, res: ServerResponse) => void;

export function createConsoleHandler(assets: ConsoleAssets): ConsoleHandler {
  return (req, res) => {
    const raw = req.url ?? '/';
    const query = raw.indexOf('?');
    const pathname = query === -1 ? raw : raw.slice(0, query);
    if (pathname.length > MAX_PATH_LENGTH || !pathname.startsWith('/')) {
      plain(res, 404, NOT_FOUND_BODY);
      return;
    }
    const asset = pathname === '/index.html' ? undefined : assets.files.get(pathname);
    const first = pathname.split('/', 2)[1] ?? '';
    const served = asset !== undefined || (!RESERVED_FIRST_SEGMENTS.has(first) && first !== 'assets' && CLIENT_ROUTE.test(pathname));
    // Anything the console does not serve stays a plain 404 whatever the method (as before the console existed).
    if (!served) {
      plain(res, 404, NOT_FOUND_BODY);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      plain(res, 405, METHOD_BODY, { allow: 'GET, HEAD' });
      return;
    }
    if (asset) {
      send(req, res, asset, asset.immutable ? IMMUTABLE_CACHE : NO_STORE);
      return;
    }
    send(req, res, assets.index, NO_STORE);
  };
}
