import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import type { Hono } from 'hono';
import { KeywardenError } from '../errors/index.js';
import type { Gateway } from '../gateway/create-gateway.js';
import { metricsHandler } from '../monitor/metrics-handler.js';
import type { MonitorMetrics } from '../monitor/metrics.js';
import { sendError } from '../gateway/send-error.js';
import type { ConsoleHandler } from '../console-serve/index.js';
import { DEFAULT_SERVER_TIMEOUTS, httpServerOptions, type ServerTimeouts } from './server-options.js';
import { routeUpgrade } from './upgrade-routing.js';
import { refuseUpgrade } from '../gateway/realtime-session.js';
import { uuid7 } from '../util/uuid7.js';

export interface HttpServerParts {
  gateway: Gateway;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- hono's Env generic is irrelevant here
  admin: Hono<any, any, any>;
  metrics: MonitorMetrics;
  /** Signed leak reports from code hosts (/leaks/github); no admin token, the signature authenticates. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as for admin
  leaks?: Hono<any, any, any>;
  isReady: () => boolean;
  /** Client-facing timeouts (config `server`); the defaults when absent. */
  timeouts?: ServerTimeouts;
  /** /metrics is served only to requests this accepts (see metrics-auth.ts). */
  authorizeMetrics: (req: IncomingMessage) => Promise<boolean>;
  /** State of each external dependency (e.g. `{ redis: 'up' }`), reported by /readyz. */
  dependencies?: () => Record<string, string>;
  /** True while a dependency is down and every request is refused meanwhile: /readyz then answers 503. */
  refusingAll?: () => boolean;
  /** The web console at `/` (every path no server route claims); null or absent: 404 as before. */
  console?: ConsoleHandler | null;
}

const BAD_REQUEST_BODY = JSON.stringify({
  error: { message: 'Malformed HTTP request.', type: 'invalid_request_error', param: null, code: 'invalid_request' },
});
const REQUEST_TIMEOUT_BODY = JSON.stringify({
  error: { message: 'The request did not arrive in time.', type: 'invalid_request_error', param: null, code: 'request_timeout' },
});

/** The raw answer to a connection-level error: 408 when Node's headers or request timeout fired, 400 otherwise. */
function clientErrorResponse(code: string | undefined): string {
  const [status, body] = code === 'ERR_HTTP_REQUEST_TIMEOUT' ? ['408 Request Timeout', REQUEST_TIMEOUT_BODY] : ['400 Bad Request', BAD_REQUEST_BODY];
  return `HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

/**
 * Request-smuggling shapes are refused before routing. Node's parser already rejects Content-Length together with
 * Transfer-Encoding and conflicting Content-Lengths; repeated identical Content-Length headers and repeated
 * Transfer-Encoding headers are refused here, so no intermediary can interpret the framing differently.
 */
function hasAmbiguousFraming(req: IncomingMessage): boolean {
  let contentLength = 0;
  let transferEncoding = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const raw = req.rawHeaders[i] as string;
    // Only names of the two lengths can match: the others are not lower-cased (a string each, on every request).
    if (raw.length !== 14 && raw.length !== 17) continue;
    const name = raw.toLowerCase();
    if (name === 'content-length') contentLength++;
    else if (name === 'transfer-encoding') transferEncoding++;
  }
  return contentLength > 1 || transferEncoding > 1 || (contentLength > 0 && transferEncoding > 0);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export interface KeywardenHttpServer extends Server {
  /** Requests whose responses have not finished yet; shutdown waits for these, not for idle keep-alives. */
  activeRequests(): number;
}

/** One HTTP server: the OpenAI-compatible proxy under /v1, the admin API under /admin, health probes. */
export function createHttpServer(parts: HttpServerParts): KeywardenHttpServer {
  const adminListener = getRequestListener(parts.admin.fetch);
  const metricsListener = metricsHandler(parts.metrics);
  const leaksListener = parts.leaks ? getRequestListener(parts.leaks.fetch) : null;
  let active = 0;
  const server = createServer(httpServerOptions(parts.timeouts ?? DEFAULT_SERVER_TIMEOUTS), (req, res) => {
    active++;
    res.once('close', () => active--);
    if (hasAmbiguousFraming(req)) {
      res.shouldKeepAlive = false;
      sendError(res, new KeywardenError('KW_BAD_REQUEST', { message: 'Ambiguous request framing (Content-Length / Transfer-Encoding).' }));
      return;
    }
    const url = req.url ?? '/';
    if (url.startsWith('/v1/') || url === '/v1') {
      void parts.gateway.handle(req, res);
    } else if (url.startsWith('/admin/')) {
      void adminListener(req, res);
    } else if (leaksListener !== null && url.startsWith('/leaks/')) {
      void leaksListener(req, res);
    } else if (url === '/metrics') {
      parts.authorizeMetrics(req).then(
        (allowed) => {
          if (allowed) metricsListener(req, res);
          else {
            res.setHeader('www-authenticate', 'Bearer');
            sendError(res, new KeywardenError('KW_ADMIN_UNAUTHORIZED', { message: 'GET /metrics needs Authorization: Bearer with an admin token or metrics.token.' }));
          }
        },
        (err: unknown) => sendError(res, err),
      );
    } else if (url === '/healthz' || url === '/readyz') {
      // /healthz is liveness (the process serves); /readyz also reports each dependency.
      const readiness = url === '/readyz';
      const dependencies = readiness ? (parts.dependencies?.() ?? {}) : {};
      if (!parts.isReady()) json(res, 503, { status: 'starting', ...dependencies });
      else if (readiness && parts.refusingAll?.()) json(res, 503, { status: 'unavailable', ...dependencies });
      else json(res, 200, { status: Object.values(dependencies).includes('down') ? 'degraded' : 'ok', ...dependencies });
    } else if (parts.console) {
      parts.console(req, res);
    } else {
      sendError(res, new KeywardenError('KW_NOT_FOUND'));
    }
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    if (hasAmbiguousFraming(req)) {
      refuseUpgrade(socket, new KeywardenError('KW_BAD_REQUEST', { message: 'Ambiguous request framing (Content-Length / Transfer-Encoding).' }), uuid7(Date.now()));
      return;
    }
    routeUpgrade(server, parts.gateway, req, socket, head);
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    // The request timeout can fire while an answer is already on the wire (a body still dripping after an early
    // error): a second status line would corrupt it, so such a connection is only cut (as Node's default does).
    const current = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (current?.headersSent) {
      socket.destroy();
      return;
    }
    socket.end(clientErrorResponse(err.code));
  });
  return Object.assign(server, { activeRequests: () => active });
}
