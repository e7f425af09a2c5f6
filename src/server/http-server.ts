import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import type { Hono } from 'hono';
import { KeywardenError } from '../errors/index.js';
import type { Gateway } from '../gateway/create-gateway.js';
import { metricsHandler } from '../monitor/metrics-handler.js';
import type { MonitorMetrics } from '../monitor/metrics.js';
import { sendError } from '../gateway/send-error.js';

export interface HttpServerParts {
  gateway: Gateway;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- hono's Env generic is irrelevant here
  admin: Hono<any, any, any>;
  metrics: MonitorMetrics;
  isReady: () => boolean;
  /** State of each external dependency (e.g. `{ redis: 'up' }`), reported by /readyz. */
  dependencies?: () => Record<string, string>;
  /** True while a dependency is down and every request is refused meanwhile: /readyz then answers 503. */
  refusingAll?: () => boolean;
}

const BAD_REQUEST_BODY = JSON.stringify({
  error: { message: 'Malformed HTTP request.', type: 'invalid_request_error', param: null, code: 'invalid_request' },
});

/**
 * Request-smuggling shapes are refused before routing. Node's parser already rejects Content-Length together with
 * Transfer-Encoding and conflicting Content-Lengths; repeated identical Content-Length headers and repeated
 * Transfer-Encoding headers are refused here, so no intermediary can interpret the framing differently.
 */
function hasAmbiguousFraming(req: IncomingMessage): boolean {
  let contentLength = 0;
  let transferEncoding = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = (req.rawHeaders[i] as string).toLowerCase();
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
  let active = 0;
  const server = createServer({ requestTimeout: 0, headersTimeout: 60_000, keepAliveTimeout: 65_000 }, (req, res) => {
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
    } else if (url === '/metrics') {
      metricsListener(req, res);
    } else if (url === '/healthz' || url === '/readyz') {
      // /healthz is liveness (the process serves); /readyz also reports each dependency.
      const readiness = url === '/readyz';
      const dependencies = readiness ? (parts.dependencies?.() ?? {}) : {};
      if (!parts.isReady()) json(res, 503, { status: 'starting', ...dependencies });
      else if (readiness && parts.refusingAll?.()) json(res, 503, { status: 'unavailable', ...dependencies });
      else json(res, 200, { status: Object.values(dependencies).includes('down') ? 'degraded' : 'ok', ...dependencies });
    } else {
      sendError(res, new KeywardenError('KW_NOT_FOUND'));
    }
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    socket.end(
      `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(BAD_REQUEST_BODY)}\r\nConnection: close\r\n\r\n${BAD_REQUEST_BODY}`,
    );
  });
  return Object.assign(server, { activeRequests: () => active });
}
