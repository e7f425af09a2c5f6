import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { KeywardenError } from '../errors/index.js';
import type { Gateway } from '../gateway/create-gateway.js';
import { refuseUpgrade } from '../gateway/realtime-session.js';
import { uuid7 } from '../util/uuid7.js';

/**
 * Where an `Upgrade` request goes. Node hands every request that asks to upgrade to the server's `upgrade` listener
 * once there is one, so without care an h2c upgrade (`curl --http2 http://…`) to any route would stop working:
 *   - a WebSocket upgrade under /v1 is a Realtime session for the gateway;
 *   - a WebSocket upgrade anywhere else is refused (nothing else speaks WebSocket);
 *   - any other upgrade is served as the plain HTTP/1.1 request it also is, as before: its head is written back
 *     without the upgrade headers and the socket is handed to the HTTP parser again.
 */
export function routeUpgrade(server: Server, gateway: Gateway, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const url = req.url ?? '/';
  if (!isWebSocketUpgrade(req)) {
    replayAsPlainRequest(server, req, socket, head);
    return;
  }
  if (url.startsWith('/v1/')) {
    gateway.upgrade(req, socket, head);
    return;
  }
  refuseUpgrade(socket, new KeywardenError('KW_NOT_FOUND', { message: 'WebSocket sessions are served at /v1/realtime only.' }), uuid7(Date.now()));
}

function isWebSocketUpgrade(req: IncomingMessage): boolean {
  const upgrade = req.headers.upgrade;
  return typeof upgrade === 'string' && upgrade.toLowerCase().split(',').some((token) => token.trim() === 'websocket');
}

/** Headers that only mean something to an upgrade (h2c's settings ride along with it). */
const UPGRADE_ONLY = new Set(['upgrade', 'http2-settings']);

function replayAsPlainRequest(server: Server, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  let text = `${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1\r\n`;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] as string;
    const value = req.rawHeaders[i + 1] as string;
    const lower = name.toLowerCase();
    if (UPGRADE_ONLY.has(lower)) continue;
    if (lower === 'connection') {
      const kept = value
        .split(',')
        .map((token) => token.trim())
        .filter((token) => token !== '' && !UPGRADE_ONLY.has(token.toLowerCase()));
      if (kept.length > 0) text += `${name}: ${kept.join(', ')}\r\n`;
      continue;
    }
    text += `${name}: ${value}\r\n`;
  }
  // The parser has been detached from the socket: what it had read past the head is in `head`, the rest is unread.
  socket.unshift(Buffer.concat([Buffer.from(`${text}\r\n`, 'latin1'), head]));
  server.emit('connection', socket);
}
